import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { CupsError } from '../src/core/errors.js';
import { createRegistry } from '../src/registry/index.js';
import { registryMigrations } from '../src/registry/migrations.js';
import type { ReportedState, StationRegistry } from '../src/registry/types.js';
import { createTestSchema, shouldRunPostgresSuite, TEST_POSTGRES_URL, type TestSchema } from './support/postgres.js';

const pgRuns = await shouldRunPostgresSuite('registry PostgreSQL specifics');

// Kysely's PostgresAdapter LOCK_ID: the advisory lock every migrator takes.
const KYSELY_MIGRATION_LOCK = '3853314791062309107';
const EUI = '0016C001FF10A235';

const reported: ReportedState = {
  cupsUri: null,
  tcUri: null,
  cupsCredCrc: 1,
  tcCredCrc: 2,
  station: '2.0.6',
  model: 'rpi',
  package: '1.0.0',
  keys: [],
};

async function query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function tablesIn(schema: string): Promise<string[]> {
  return query<{ table_name: string }>(
    'select table_name from information_schema.tables where table_schema = $1 order by table_name',
    [schema],
  ).then((rows) => rows.map((r) => r.table_name));
}

/** Tables the first migrations make; later ones add more, so tests check these are among them. */
const REGISTRY_TABLES = [
  'firmware_targets',
  'kysely_migration',
  'kysely_migration_lock',
  'signing_keys',
  'station_auth',
  'station_certificates',
  'station_events',
  'station_rotations',
  'station_tokens',
  'stations',
  'unknown_stations',
];

describe.skipIf(!pgRuns)('station registry on PostgreSQL: replicas', () => {
  const schemas: TestSchema[] = [];
  const registries: StationRegistry[] = [];
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
    await Promise.all(schemas.splice(0).map((s) => s.drop()));
  });

  it('migrates exactly once when several replicas start together on a fresh schema', async () => {
    const schema = await createTestSchema({ create: false });
    schemas.push(schema);
    const replicas = await Promise.all(Array.from({ length: 6 }, () => createRegistry(schema.url)));
    registries.push(...replicas);
    await Promise.all(replicas.map((r) => r.migrate()));
    const applied = await query<{ name: string }>(`select name from ${schema.schema}.kysely_migration`);
    // Every migration the code has, each once (the list grows with the schema).
    expect(applied.map((r) => r.name)).toEqual(Object.keys(await registryMigrations('postgres').getMigrations()).sort());
    expect(await tablesIn(schema.schema)).toEqual(expect.arrayContaining(REGISTRY_TABLES));
    await replicas[0]?.createStation({ eui: EUI });
    expect((await replicas[5]?.getStation(EUI))?.eui).toBe(EUI);
  });

  it('waits for the advisory migration lock held by another replica', async () => {
    const schema = await createTestSchema();
    schemas.push(schema);
    const app = `cups_lock_${schema.schema}`;
    const registry = await createRegistry(`${schema.url}&application_name=${app}`);
    registries.push(registry);
    const holder = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await holder.connect();
    try {
      await holder.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`);
      const migrating = registry.migrate();
      // No event tells us the migrator reached the lock; the server's own view does.
      for (;;) {
        const waiting = await holder.query(
          `select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock' and query like '%pg_advisory_lock%'`,
          [app],
        );
        if (waiting.rowCount !== 0) break;
        await new Promise((r) => setImmediate(r));
      }
      expect(await tablesIn(schema.schema)).not.toContain('stations');
      await holder.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`);
      await migrating;
      expect(await tablesIn(schema.schema)).toEqual(expect.arrayContaining(REGISTRY_TABLES));
    } finally {
      await holder.end();
    }
  });

  it('counts 50 offers made through two pools, as two server replicas would', async () => {
    const schema = await createTestSchema();
    schemas.push(schema);
    const [a, b] = await Promise.all([createRegistry(schema.url), createRegistry(schema.url)]);
    if (a === undefined || b === undefined) throw new Error('unreachable');
    registries.push(a, b);
    await a.migrate();
    await a.createStation({ eui: EUI });
    await a.setFirmwareTarget(EUI, {
      package: '2.0.0',
      blob: 'fw.bin',
      size: 10,
      sha256: '0'.repeat(64),
      signatures: [],
      maxOffers: 100,
      fromPackage: null,
      requestedAt: new Date(),
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? a : b).recordExchange(EUI, {
          at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)),
          remoteAddress: `192.0.2.${i}`,
          reported,
          events: [{ type: 'firmware_offered', message: `offer ${i}` }],
          firmware: { package: '2.0.0', offered: true },
        }),
      ),
    );
    expect((await b.getStation(EUI))?.firmware?.offers).toBe(50);
    expect(results.filter((r) => r.reportedChanged)).toHaveLength(1);
    expect(await a.listEvents(EUI)).toHaveLength(50);
  });

  it("uses the search path of the URL's own options when no schema is given", async () => {
    const schema = await createTestSchema();
    schemas.push(schema);
    const url = new URL(TEST_POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema.schema}`);
    const registry = await createRegistry(url.toString());
    registries.push(registry);
    await registry.migrate();
    expect(await tablesIn(schema.schema)).toEqual(expect.arrayContaining(REGISTRY_TABLES));
  });
});

describe('station registry on an unreachable PostgreSQL', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: the case a connect timeout exists for.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    silent.close();
    await once(silent, 'close');
  });

  async function expectUnavailable(work: Promise<unknown>): Promise<CupsError> {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CupsError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'registry_unavailable' });
    return error as CupsError;
  }

  it('throws unavailable at once when the port refuses, naming the database but not the password', async () => {
    const registry = await createRegistry('postgres://cups:s3cret@127.0.0.1:1/fleet?connect_timeout=2');
    try {
      const started = Date.now();
      const error = await expectUnavailable(registry.ping());
      expect(error.message).toContain('127.0.0.1:1/fleet');
      expect(error.message).not.toContain('s3cret');
      expect(error.message).toMatch(/ECONNREFUSED/);
      await expectUnavailable(registry.getStation(EUI));
      await expectUnavailable(registry.migrate());
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await registry.close();
    }
  });

  it('gives up after connect_timeout when the server never answers', async () => {
    const { port } = silent.address() as { port: number };
    const registry = await createRegistry(`postgres://postgres@127.0.0.1:${port}/test?connect_timeout=0.5`);
    try {
      const started = Date.now();
      await expectUnavailable(registry.ping());
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(3_000);
      await expectUnavailable(registry.listStations());
    } finally {
      await registry.close();
    }
  });
});
