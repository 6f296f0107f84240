import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CachedStationRegistry } from '../src/registry/cache/index.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { createTestSchema, shouldRunPostgresSuite, TEST_POSTGRES_URL, type TestSchema } from './support/postgres.js';

// The registry cache between registries on one database, as replicas use it: every
// change made through one is seen by the other within a second (expect.poll's
// deadline), revocations included; stamps are batched; a lost listener drops the cache.

const EUI = '0016C001FF10A235';
const HASH = 'ab'.repeat(32);
const AT = new Date('2026-01-01T00:00:00Z');
const WITHIN_ONE_SECOND = { timeout: 1_000, interval: 10 };

interface Store {
  readonly url: string;
  dispose(): Promise<void>;
}

const pgRuns = await shouldRunPostgresSuite('registry cache');
let dir = '';
const stores: { name: string; skip: boolean; fresh: () => Promise<Store> }[] = [
  {
    name: 'SQLite file',
    skip: false,
    fresh: () => Promise.resolve({ url: join(dir, `r-${Math.random().toString(16).slice(2)}.sqlite`), dispose: () => Promise.resolve() }),
  },
  {
    name: 'PostgreSQL',
    skip: !pgRuns,
    fresh: async () => {
      const s: TestSchema = await createTestSchema();
      return { url: s.url, dispose: s.drop };
    },
  },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bscups-cache-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cached = async (url: string, lastSeenIntervalMs = 60_000) =>
  (await createRegistry(url, { cache: { lastSeenIntervalMs } })) as CachedStationRegistry;

for (const store of stores) {
  describe.skipIf(store.skip)(`registry cache on ${store.name}`, () => {
    let s: Store;
    let a: CachedStationRegistry;
    let b: CachedStationRegistry;
    const open: StationRegistry[] = [];

    beforeEach(async () => {
      s = await store.fresh();
      a = await cached(s.url);
      await a.migrate();
      await a.createStation({ eui: EUI, desired: { tcUri: 'ws://lns.example:1' } });
      await a.setAuthMode(EUI, 'token', AT);
      await a.addToken(EUI, { id: 'tok1', hash: HASH, category: 'cups', credCrc: 1 }, AT);
      b = await cached(s.url);
      await b.migrate();
      open.push(a, b);
    });

    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((r) => r.close()));
      await s.dispose();
    });

    it('loads the fleet at start and answers from memory without the database', () => {
      expect(b.cacheState()).toMatchObject({ live: true, stations: 1, auth: 1 });
      expect(b.peekStation(EUI)?.desired.tcUri).toBe('ws://lns.example:1');
      expect(b.peekStationAuth(EUI)?.mode).toBe('token');
      expect(b.peekToken(HASH)?.id).toBe('tok1');
    });

    it('a change made through one registry is served by the other at its next read', async () => {
      expect((await b.getStation(EUI))?.desired.tcUri).toBe('ws://lns.example:1');
      await a.updateStation(EUI, { desired: { tcUri: 'ws://moved.example:2' } });
      // Through the registry that wrote, at once.
      expect(a.peekStation(EUI)).toBeUndefined();
      expect((await a.getStation(EUI))?.desired.tcUri).toBe('ws://moved.example:2');
      await expect.poll(async () => (await b.getStation(EUI))?.desired.tcUri, WITHIN_ONE_SECOND).toBe('ws://moved.example:2');
      // Cached again once read (a read that saw the change before its notification arrived is not kept: read again).
      await expect.poll(async () => (await b.getStation(EUI)) && b.peekStation(EUI)?.desired.tcUri, WITHIN_ONE_SECOND).toBe('ws://moved.example:2');
    });

    it('a revoked token and a removed station are refused by the other registry within one second', async () => {
      expect(b.peekToken(HASH)?.status).toBe('active');
      await a.retireToken(EUI, 'tok1', 'revoked', AT);
      await expect.poll(async () => (await b.findToken(HASH))?.status, WITHIN_ONE_SECOND).toBe('retired');
      await expect.poll(async () => (await b.getStationAuth(EUI))?.tokens[0]?.status, WITHIN_ONE_SECOND).toBe('retired');

      expect(await b.getStation(EUI)).toBeDefined();
      await a.removeStation(EUI);
      await expect.poll(async () => b.getStation(EUI), WITHIN_ONE_SECOND).toBeUndefined();
      expect(await b.getStationAuth(EUI)).toBeUndefined();
      expect(b.peekStation(EUI)).toBeUndefined();
    });

    it('batches last-seen stamps: shown at once by the registry that took them, written within the interval, without emptying any cache', async () => {
      const c = await cached(s.url, 50);
      await c.migrate();
      open.push(c);
      const plain = await createRegistry(s.url);
      open.push(plain);
      expect(await c.touchStation(EUI, { at: AT, remoteAddress: '192.0.2.7' })).toBe(true);
      expect((await c.getStation(EUI))?.lastSeenAt).toEqual(AT);
      expect(c.cacheState().pendingLastSeen).toBe(1);
      await expect.poll(async () => (await plain.getStation(EUI))?.lastRemoteAddress, WITHIN_ONE_SECOND).toBe('192.0.2.7');
      expect(c.cacheState().pendingLastSeen).toBe(0);
      // A stamp is not a change: the other registries keep the station in memory.
      await a.ping();
      await b.getStation(EUI);
      expect(b.peekStation(EUI)).toBeDefined();
      expect((await c.getStation(EUI))?.lastSeenAt).toEqual(AT);
      // An older stamp (another replica's, written late) never moves last-seen back.
      await c.touchStation(EUI, { at: new Date(AT.getTime() - 60_000), remoteAddress: '192.0.2.8' });
      await c.close();
      expect((await plain.getStation(EUI))?.lastRemoteAddress).toBe('192.0.2.7');
    });

    it('writes the stamps of many stations together, each its own', async () => {
      const euis = Array.from({ length: 5 }, (_, i) => `0016C001FF10B00${i}`);
      for (const eui of euis) await a.createStation({ eui });
      const c = await cached(s.url);
      await c.migrate();
      euis.forEach((eui, i) => void c.touchStation(eui, { at: new Date(AT.getTime() + i), remoteAddress: `192.0.2.${i}` }));
      expect(c.cacheState().pendingLastSeen).toBe(5);
      await c.close();
      const plain = await createRegistry(s.url);
      open.push(plain);
      for (const [i, eui] of euis.entries()) {
        expect(await plain.getStation(eui)).toMatchObject({ lastSeenAt: new Date(AT.getTime() + i), lastRemoteAddress: `192.0.2.${i}` });
      }
    });

    it('close() writes the stamps still pending', async () => {
      const plain = await createRegistry(s.url);
      open.push(plain);
      await b.getStation(EUI);
      await b.touchStation(EUI, { at: AT, remoteAddress: '192.0.2.9' });
      expect((await plain.getStation(EUI))?.lastSeenAt).toBeNull();
      await b.close();
      expect((await plain.getStation(EUI))?.lastRemoteAddress).toBe('192.0.2.9');
    });
  });
}

describe.skipIf(!pgRuns)('registry cache on PostgreSQL, listener lost', () => {
  let schema: TestSchema;
  let a: CachedStationRegistry;
  let b: CachedStationRegistry;
  let admin: pg.Client;

  beforeEach(async () => {
    schema = await createTestSchema();
    a = await cached(schema.url);
    await a.migrate();
    await a.createStation({ eui: EUI, desired: { tcUri: 'ws://lns.example:1' } });
    b = await cached(schema.url);
    await b.migrate();
    admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.allSettled([a.close(), b.close(), admin.end()]);
    await schema.drop();
  });

  it('drops the whole cache when its LISTEN connection is killed, reads the database meanwhile, and recovers', async () => {
    expect(b.peekStation(EUI)?.desired.tcUri).toBe('ws://lns.example:1');
    // A change no trigger announces (replica role skips triggers): a live cache keeps serving what it holds.
    await admin.query('begin');
    await admin.query('set local session_replication_role = replica');
    await admin.query(`update ${schema.schema}.stations set tc_uri = 'ws://silent.example:3' where eui = $1`, [EUI]);
    await admin.query('commit');
    expect((await b.getStation(EUI))?.desired.tcUri).toBe('ws://lns.example:1');

    const killed = await admin.query<{ pid: number }>(
      'select pg_terminate_backend(pid), pid from pg_stat_activity where application_name = $1',
      [`bscups-listener ${schema.schema}`],
    );
    expect(killed.rows).toHaveLength(2);
    await expect.poll(() => b.cacheState().losses, WITHIN_ONE_SECOND).toBeGreaterThanOrEqual(1);
    // Everything held before the loss is gone: the silent change is read from the database.
    expect((await b.getStation(EUI))?.desired.tcUri).toBe('ws://silent.example:3');

    await expect.poll(() => b.cacheState().live, { timeout: 5_000, interval: 20 }).toBe(true);
    await a.updateStation(EUI, { desired: { tcUri: 'ws://after.example:4' } });
    await expect.poll(async () => (await b.getStation(EUI))?.desired.tcUri, WITHIN_ONE_SECOND).toBe('ws://after.example:4');
    await expect.poll(async () => (await b.getStation(EUI)) && b.peekStation(EUI)?.desired.tcUri, WITHIN_ONE_SECOND).toBe('ws://after.example:4');
  });
});
