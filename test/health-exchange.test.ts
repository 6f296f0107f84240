import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { DEFAULT_HEALTH } from '../src/core/health.js';
import { createApp } from '../src/http/app.js';
import { decodeResponse, encodeStationRequestBody, NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { createRegistry, type RegistryOptions } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { registryDrivers, type Store } from './support/registry-drivers.js';
import { stationRequest } from './support/tls-client.js';

// Health decided on every exchange from the time since the previous one
// (core/health.ts), through the real station route, over every registry driver
// (cached ones answer steady polls from memory), with the server's clock injected:
// the station's real rhythm (450 s beats, 24 h checks) without waiting for it.

const FAILING = '0016C001FF10E001';
const STEADY = '0016C001FF10E002';
const MOVED = '0016C001FF10E003';
const TC_URI = 'wss://lns.example.com:8887';
const T0 = Date.parse('2026-03-02T12:04:00Z');
const H = 3_600_000;
const D = 24 * H;

const drivers = await registryDrivers('health from the cadence of CUPS calls');

/** A server (the station route) on its own registry, with a clock the test moves. */
interface Replica {
  readonly registry: StationRegistry;
  readonly app: FastifyInstance;
}

let now = T0;
const clock = () => new Date(now);

async function replica(url: string, options: RegistryOptions): Promise<Replica> {
  const registry = await createRegistry(url, { ...options, now: clock });
  await registry.migrate();
  const app = await createApp({ registry, blobs: createMemoryBlobStore(), logger: pino({ level: 'silent' }), allowUnauthenticated: true, clock, health: DEFAULT_HEALTH });
  return { registry, app };
}

async function poll(r: Replica, eui: string, at: number, overrides: Parameters<typeof stationRequest>[1] = {}): Promise<Buffer> {
  now = at;
  const res = await r.app.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload: encodeStationRequestBody(stationRequest(eui, { tcUri: TC_URI, ...overrides })) });
  expect(res.statusCode).toBe(200);
  return res.rawPayload;
}

async function healthEvents(registry: StationRegistry, eui: string) {
  return (await registry.listEvents(eui)).filter((e) => e.type === 'health').map((e) => e.detail).reverse();
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`health on ${driver.name}`, () => {
    let store: Store;
    const open: Replica[] = [];
    beforeAll(() => driver.setup?.());
    afterAll(() => driver.teardown?.());
    afterEach(async () => {
      for (const r of open.splice(0)) {
        await r.app.close();
        await r.registry.close();
      }
      await store?.dispose();
    });

    async function fleet(replicas: number): Promise<Replica[]> {
      store = await driver.fresh();
      for (let i = 0; i < replicas; i++) open.push(await replica(store.url, driver.options ?? {}));
      const [first] = open as [Replica];
      for (const eui of [FAILING, STEADY]) await first.registry.createStation({ eui, desired: { tcUri: TC_URI } });
      await first.registry.createStation({ eui: MOVED, desired: { tcUri: TC_URI, cupsUri: 'https://cups2.example.com:443' } });
      return open;
    }

    it('a station on the 450 s beat becomes lns_failing at its second early call, with the reason and one event, and recovers at a regular check', async () => {
      const [r] = (await fleet(1)) as [Replica];
      await poll(r, FAILING, T0);
      await poll(r, FAILING, T0 + 450_200);
      expect((await r.registry.getStation(FAILING))?.health?.state).toBe('unknown');
      await poll(r, FAILING, T0 + 900_400);
      const failing = await r.registry.getStation(FAILING);
      expect(failing?.health).toMatchObject({ state: 'lns_failing', since: new Date(T0), gapMs: 450_200 });
      for (let k = 3; k < 8; k++) expect(await poll(r, FAILING, T0 + k * 450_200)).toEqual(NOTHING_TO_CHANGE);
      await poll(r, FAILING, T0 + 7 * 450_200 + D);
      expect(await healthEvents(r.registry, FAILING)).toEqual([
        expect.objectContaining({ kind: 'health_changed', eui: FAILING, from: 'unknown', to: 'lns_failing', reason: expect.stringMatching(/^calls CUPS every 7\.5 min since 12:04 UTC: its LNS connection is failing \(the 450 s beat/) }),
        expect.objectContaining({ kind: 'health_changed', from: 'lns_failing', to: 'healthy' }),
      ]);
    });

    it('a station at its regular check is healthy, a single early call (a restart) leaves it healthy', async () => {
      const [r] = (await fleet(1)) as [Replica];
      for (const at of [T0, T0 + D, T0 + 2 * D, T0 + 2 * D + 30_000, T0 + 3 * D + 30_000]) await poll(r, STEADY, at);
      expect((await r.registry.getStation(STEADY))?.health?.state).toBe('healthy');
      expect((await healthEvents(r.registry, STEADY)).map((d) => `${String(d?.from)}→${String(d?.to)}`)).toEqual(['unknown→healthy']);
    });

    it('the call right after a CUPS URI change is not early (the station calls again at once)', async () => {
      const [r] = (await fleet(1)) as [Replica];
      await poll(r, MOVED, T0, { cupsUri: 'https://cups2.example.com:443' });
      await poll(r, MOVED, T0 + D, { cupsUri: 'https://cups2.example.com:443' });
      await r.registry.updateStation(MOVED, { desired: { cupsUri: 'https://cups3.example.com:443' } });
      const answer = decodeResponse(await poll(r, MOVED, T0 + 2 * D, { cupsUri: 'https://cups2.example.com:443' }));
      expect(answer.cupsUri).toBe('https://cups3.example.com:443');
      await poll(r, MOVED, T0 + 2 * D + 2_000, { cupsUri: 'https://cups3.example.com:443' });
      await poll(r, MOVED, T0 + 3 * D, { cupsUri: 'https://cups3.example.com:443' });
      expect((await r.registry.getStation(MOVED))?.health).toMatchObject({ state: 'healthy', earlyRun: 0 });
    });

    it.runIf(driver.shared)('two replicas answering the same station in turn decide the same health from the shared history', async () => {
      const [a, b] = (await fleet(2)) as [Replica, Replica];
      await poll(a, FAILING, T0);
      await poll(b, FAILING, T0 + 450_200);
      await poll(a, FAILING, T0 + 900_400);
      // A replica's cache hears of the other's write through the change feed (polled at most every few ms on SQLite).
      const state = (r: Replica) => r.registry.getStation(FAILING).then((s) => s?.health?.state);
      for (const r of [a, b]) await expect.poll(() => state(r)).toBe('lns_failing');
      await poll(b, FAILING, T0 + 1_350_600);
      await poll(a, FAILING, T0 + 1_350_600 + D);
      for (const r of [a, b]) await expect.poll(() => state(r)).toBe('healthy');
      // One event per change, whichever replica saw it.
      expect((await healthEvents(a.registry, FAILING)).map((d) => d?.to)).toEqual(['lns_failing', 'healthy']);
    });
  });
}
