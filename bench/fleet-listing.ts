/**
 * Benchmark: fleet listings and the fleet summary at 100,000 stations (issue 10).
 * The stations are bulk-inserted (1,000 rows a statement, in the registry's own
 * row shape, labels and firmware targets included) into a fresh SQLite file and
 * a fresh PostgreSQL schema; the database statistics are refreshed (ANALYZE, as
 * autovacuum would) and then the first page of several filtered listings and the
 * fleet summary are timed through the product's FleetStore, each many times.
 * Target: each under 50 ms.
 */
import { performance } from 'node:perf_hooks';
import { sql, type Insertable, type Kysely } from 'kysely';
import type { FirmwareTargetsTable, RegistryDatabase, StationLabelsTable, StationsTable } from '../src/registry/db-schema.js';
import type { RolloutTables } from '../src/registry/rollout-schema.js';
import { createRegistryBackend } from '../src/registry/open-backend.js';
import { createRegistryStores, type FleetStore, type StationQuery } from '../src/registry/index.js';
import { firmwareColumns, reportedColumns, stationColumns } from '../src/registry/row-mapping.js';
import { seededRandom } from '../test/support/fixtures.js';
import { Cleanup, benchEui, postgresRegistry, sqliteRegistry, tempDir, type BenchRegistry } from './fixtures.js';
import type { BenchSettings } from './settings.js';
import { met, num, type Table } from './table.js';

const TARGET_MS = 50;
const BATCH = 1_000;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

const QUERIES: readonly { readonly name: string; readonly query: StationQuery }[] = [
  { name: 'label site=north, state in_sync', query: { labels: [{ key: 'site', op: 'eq', value: 'north' }], states: ['in_sync'], limit: 50 } },
  { name: 'state failed (rare)', query: { states: ['failed'], limit: 50 } },
  { name: 'label tier=gold, model rpi, package 1.1.0', query: { labels: [{ key: 'tier', op: 'eq', value: 'gold' }], model: 'rpi', package: '1.1.0', limit: 50 } },
  { name: 'silent > 26 h, sorted by last seen', query: { silentSince: new Date(NOW - 26 * 3_600_000), sort: 'lastSeen', limit: 50 } },
  { name: 'text "roof 4242"', query: { text: 'roof 4242', limit: 50 } },
  { name: 'label site!=north, page 2 by name', query: { labels: [{ key: 'site', op: 'ne', value: 'north' }], sort: 'name', limit: 50 } },
  { name: 'compliance behind', query: { compliance: ['behind'], limit: 50 } },
  { name: 'compliance in_progress, model linux', query: { compliance: ['in_progress'], model: 'linux', limit: 50 } },
];

/** Inserts `count` stations with a seeded mix of labels, reports, problems and firmware targets. */
export async function bulkRegister(database: string, count: number, log: (line: string) => void): Promise<void> {
  const backend = await createRegistryBackend(database, {});
  try {
    await backend.migrate();
    const rand = seededRandom(42);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;
    for (let start = 0; start < count; start += BATCH) {
      const stations: Insertable<StationsTable>[] = [];
      const labels: Insertable<StationLabelsTable>[] = [];
      const targets: Insertable<FirmwareTargetsTable>[] = [];
      for (let i = start; i < Math.min(count, start + BATCH); i++) {
        const eui = benchEui(i);
        const stationLabels: Record<string, string> = { site: pick(['north', 'south', 'east', 'west']) };
        if (rand() < 0.1) stationLabels.tier = 'gold';
        const row = { ...stationColumns({ eui, name: `${pick(['Roof', 'Barn', 'Tower'])} ${i}`, labels: stationLabels, desired: { tcUri: 'wss://lns.example:8887' } }, new Date(NOW - 90 * DAY)) };
        if (rand() < 0.9) {
          const at = new Date(NOW - Math.floor(rand() * 3 * DAY));
          Object.assign(row, reportedColumns({
            cupsUri: 'https://cups.example:443',
            tcUri: rand() < 0.95 ? 'wss://lns.example:8887' : 'wss://old.example:8887',
            cupsCredCrc: 2077607535,
            tcCredCrc: 2077607535,
            station: pick(['2.0.6(rpi/std) 2022-01-18 09:00:00', '2.0.5(corecell/std) 2021-06-01 10:00:00']),
            model: pick(['rpi', 'corecell', 'kerlink', 'linux']),
            package: pick(['1.0.0', '1.1.0', '1.2.0', '2.0.0', null]),
            keys: [],
          }, at), { last_seen_at: at.getTime(), last_remote_address: '10.0.0.1', problem: rand() < 0.01 ? 'signing key missing' : null });
          if (rand() < 0.3) {
            const state = pick(['pending', 'offered', 'upgraded', 'upgraded', 'failed']);
            targets.push({ eui, ...firmwareColumns({ package: '3.0.0', blob: 'fw/3.0.0', size: 1000, sha256: 'ab'.repeat(32), signatures: [], maxOffers: 3, fromPackage: null, requestedAt: at }), state });
          }
        }
        stations.push(row);
        for (const [key, value] of Object.entries(stationLabels)) labels.push({ eui, key, value });
      }
      await backend.db.transaction().execute(async (trx) => {
        await trx.insertInto('stations').values(stations).execute();
        await trx.insertInto('station_labels').values(labels).execute();
        if (targets.length > 0) await trx.insertInto('firmware_targets').values(targets).execute();
      });
      if ((start / BATCH) % 20 === 0) log(`fleet-listing: ${start + stations.length} stations inserted`);
    }
    await addLibraryAndRollout(backend, count);
    // What autovacuum does after a bulk load: statistics, and on PostgreSQL the visibility map index-only scans need.
    await sql`${sql.raw(backend.flavour === 'postgres' ? 'vacuum analyze' : 'analyze')}`.execute(backend.db);
  } finally {
    await backend.db.destroy();
  }
}

/**
 * The firmware library compliance is read against (a package per model, one for
 * any model, kerlink left without one) and an active firmware rollout holding a
 * tenth of the fleet, its members pending, so compliance counts and filters see
 * stations in progress through both targets and rollouts.
 */
async function addLibraryAndRollout(backend: Awaited<ReturnType<typeof createRegistryBackend>>, count: number): Promise<void> {
  const db = backend.db as unknown as Kysely<RegistryDatabase & RolloutTables>;
  const pkg = (p: string, models: string[], at: number) => ({ package: p, blob: `fw/${p}`, size: 1000, sha256: 'cd'.repeat(32), signatures: '[]', models: JSON.stringify(models), created_by: 'bench', created_at: at });
  await db.insertInto('firmware_packages').values([pkg('1.2.0', ['rpi', 'corecell'], NOW - 9 * DAY), pkg('2.0.0', ['linux'], NOW - 8 * DAY), pkg('1.1.0', [], NOW - 7 * DAY), pkg('1.0.0', ['kerlink-v1'], NOW - 6 * DAY)]).execute();
  const plan = { waves: [{ percent: 100 }], successThreshold: 1, failureBudget: { count: 0 }, deadlineMs: DAY, soakMs: 0, includeNew: false };
  const members = Math.floor(count / 10);
  await db.insertInto('rollouts').values({
    id: 'bench-fw', name: 'bench', kind: 'firmware', change: JSON.stringify({ kind: 'firmware', package: '2.0.0', allowDowngrade: false, maxOffers: 3 }),
    selector: JSON.stringify({ labels: [], model: 'linux' }), plan: JSON.stringify(plan), wave_sizes: JSON.stringify([members]), state: 'running', wave: 1,
    wave_started_at: NOW, wave_passed_at: null, halt_reason: null, rollback_of: null, created_by: 'bench', created_at: NOW, updated_at: NOW, version: 1,
  }).execute();
  for (let start = 0; start < members; start += BATCH) {
    const euis = Array.from({ length: Math.min(BATCH, members - start) }, (_, i) => benchEui(count - 1 - (start + i)));
    await db.insertInto('rollout_members').values(euis.map((eui) => ({ rollout_id: 'bench-fw', eui, wave: 1, state: 'pending', reason: null, previous: null, offered_at: null, deadline_at: null, done_at: null }))).execute();
    await db.insertInto('rollout_claims').values(euis.map((eui) => ({ eui, rollout_id: 'bench-fw' }))).execute();
  }
}

interface Timing {
  readonly median: number;
  readonly p95: number;
  readonly rows: number;
}

async function time(runs: number, work: () => Promise<number>): Promise<Timing> {
  let rows = await work(); // warm: statement caches and pages
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    rows = await work();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)] as number, p95: samples[Math.min(samples.length - 1, Math.ceil(samples.length * 0.95) - 1)] as number, rows };
}

async function measure(reg: BenchRegistry, count: number, runs: number, log: (line: string) => void): Promise<string[][]> {
  const t0 = performance.now();
  await bulkRegister(reg.database, count, log);
  log(`fleet-listing: ${reg.label}: ${num(count)} stations in ${num((performance.now() - t0) / 1000, 1)} s`);
  const { registry, fleet } = await createRegistryStores(reg.database);
  try {
    const rows: string[][] = [];
    const row = (what: string, t: Timing) => rows.push([reg.label, what, num(t.rows), num(t.median, 1), num(t.p95, 1), met(t.p95 < TARGET_MS, `p95 over ${TARGET_MS} ms`)]);
    for (const q of QUERIES) {
      const query = q.name.includes('page 2') ? await secondPage(fleet, q.query) : q.query;
      row(`first page: ${q.name}`, await time(runs, async () => (await fleet.queryStations(query)).items.length));
    }
    row('fleet summary', await time(runs, async () => (await fleet.summarizeFleet({ silentSince: new Date(NOW - 26 * 3_600_000) })).total));
    return rows;
  } finally {
    await registry.close();
  }
}

async function secondPage(fleet: FleetStore, query: StationQuery): Promise<StationQuery> {
  const first = await fleet.queryStations(query);
  return { ...query, cursor: first.nextCursor ?? undefined };
}

export async function runFleetListing(settings: BenchSettings): Promise<Table> {
  const count = settings.quick ? 10_000 : 100_000;
  const runs = settings.quick ? 5 : 21;
  const cleanup = new Cleanup();
  const rows: string[][] = [];
  const notes: string[] = [];
  try {
    const dir = await tempDir(cleanup, 'fleet');
    rows.push(...(await measure(sqliteRegistry(dir), count, runs, settings.log)));
    const pg = await postgresRegistry(cleanup);
    if ('unavailable' in pg) notes.push(`PostgreSQL skipped: ${pg.unavailable}`);
    else rows.push(...(await measure(pg, count, runs, settings.log)));
  } finally {
    await cleanup.run();
  }
  return {
    title: `Fleet listings and summary at ${num(count)} stations`,
    columns: ['registry', 'query', 'rows', 'median ms', 'p95 ms', `p95 < ${TARGET_MS} ms?`],
    rows,
    notes: [
      `${num(count)} stations bulk-inserted (1,000 per statement) with labels, reports and ~27% firmware targets; statistics refreshed after loading (ANALYZE; VACUUM ANALYZE on PostgreSQL, as autovacuum would); ${runs} timed runs after one warm-up, in this process through FleetStore (no HTTP).`,
      'Filters run in SQL: labels through station_labels (key, value, eui), sync state through the CASE mirror of core syncState; pages are keyset-paged by the sort key and EUI.',
      'Compliance (summary and filters) against a library of four packages, with a firmware rollout holding a tenth of the fleet: counted by reported model and package in SQL; a filter first reads the library and the distinct reported (model, package) pairs.',
      ...notes,
    ],
  };
}
