import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { adminClient } from './support/admin-client.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { rawExchange } from './support/raw-http.js';
import { registryDrivers, registryPerTest, type Driver } from './support/registry-drivers.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

// Unregistered EUIs are remembered up to a bound (the longest silent forgotten
// first) and listed a page at a time: random EUIs cannot grow the database or
// one answer without limit.

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const REGISTERED = '0016C001FF10A235';
const randomEui = () => randomBytes(8).toString('hex').toUpperCase();

const drivers = await registryDrivers('unknown stations bounded');

function boundedConformance(driver: Driver): void {
  const fx = registryPerTest(driver, { eventRetention: { maxAgeMs: 86_400_000, perStation: 20, refusalRowsPerStation: 5, unknownStations: 20 } }, [REGISTERED]);
  const seen = (i: number) => ({ at: new Date(T0 + i * 1000), remoteAddress: '192.0.2.1', request: { router: 'x' } });

  it('keeps at most the bound, the most recently seen; a repeat evicts nothing; pages cover them once, in order', async () => {
    const euis = Array.from({ length: 100 }, randomEui);
    for (const [i, eui] of euis.entries()) await fx.registry.recordUnknown(eui, seen(i));
    // A known EUI knocking again is counted, not a new row: nothing is evicted for it.
    await fx.registry.recordUnknown(euis[99] as string, seen(100));
    const kept = await fx.registry.listUnknown();
    expect(kept.map((u) => u.eui)).toEqual(euis.slice(80).reverse());
    expect(kept[0]?.count).toBe(2);

    const paged: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await fx.registry.listUnknownPage({ limit: 7, ...(cursor === undefined ? {} : { cursor }) });
      paged.push(...page.items.map((u) => u.eui));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(paged).toEqual(kept.map((u) => u.eui));
    await expect(fx.registry.listUnknownPage({ limit: 7, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ code: 'invalid_cursor' });
  });
}

for (const driver of drivers) describe.skipIf(driver.skip)(`unknown stations (${driver.name})`, () => boundedConformance(driver));

describe('a flood of random EUIs with --allow-unauthenticated', () => {
  let server: TestServer;
  let key: string;
  beforeAll(async () => {
    server = await startTestServer({ allowUnauthenticated: true, config: { unknownStationsMax: 50 } });
    key = server.server.admin.firstAdminKey as string;
  });
  afterAll(async () => server?.stop());

  it('keeps the table bounded; the API, the CLI and --json page it with a cursor', { timeout: 180_000 }, async () => {
    for (let i = 0; i < 300; i++) {
      const eui = randomEui();
      const r = await rawExchange(server.port, encodeStationHttpRequest({ host: `127.0.0.1:${server.port}`, body: encodeStationRequestBody(stationRequest(eui)) }));
      expect(r.status).toBe(404);
    }
    const all = await server.runtime.registry.listUnknown();
    expect(all).toHaveLength(50);

    const call = adminClient(server.server.admin.url.replace(/\/api\/v1$/, ''));
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await call('GET', `/api/v1/unknown-stations?limit=20${cursor === null ? '' : `&cursor=${cursor}`}`, key);
      expect(r.status, r.text).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(20);
      listed.push(...(r.body.items as { eui: string }[]).map((u) => u.eui));
      cursor = r.body.nextCursor as string | null;
    } while (cursor !== null);
    expect(listed).toEqual(all.map((u) => u.eui));

    const first = await bscupsInProcess(['--json', 'station', 'unknown', '--limit', '30'], server.env);
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { eui: string }[]).map((u) => u.eui)).toEqual(listed.slice(0, 30));
    const next = /--cursor (\S+)/.exec(first.stderr)?.[1];
    expect(next).toBeDefined();
    const rest = await bscupsJson<{ eui: string }[]>(['station', 'unknown', '--limit', '30', '--cursor', next as string], server.env);
    expect(rest.map((u) => u.eui)).toEqual(listed.slice(30));
  });
});
