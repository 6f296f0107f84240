import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import type { UpdateInfoRequest } from '../src/protocol/types.js';
import type { NewStation, StationRegistry } from '../src/registry/types.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { benchConfig } from './cups-config.js';

/** The PostgreSQL the bench uses; BENCH_POSTGRES_URL overrides it. */
export const POSTGRES_URL = process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** CRC a station reports with no credential files: crc32 of 12 zero bytes (PROTOCOL.md 4.2). */
export const NO_CREDENTIALS_CRC = 2077607535;
/** The TC URI every bench station is meant to have. */
export const TC_URI = 'ws://127.0.0.1:6092';
const STATION_VERSION = '2.0.6(linux/std) 2025-01-18 09:00:00';

/** A registry location for one bench run, and how to remove it. */
export interface BenchRegistry {
  readonly label: 'SQLite' | 'PostgreSQL';
  readonly database: string;
  drop(): Promise<void>;
}

const pending = new Set<Cleanup>();

/** Cleanup steps run in reverse order, each even when an earlier one failed. */
export class Cleanup {
  readonly #steps: (() => Promise<unknown>)[] = [];

  constructor() {
    pending.add(this);
  }

  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    pending.delete(this);
    for (const step of this.#steps.splice(0).reverse()) {
      await step().catch((e: unknown) => console.error(`bench cleanup failed: ${(e as Error).message}`));
    }
  }

  /** Runs every cleanup not yet run: for an interrupted bench (Ctrl-C), so temp folders and schemas do not pile up. */
  static async runAll(): Promise<void> {
    for (const c of [...pending].reverse()) await c.run();
  }
}

/** A fresh temp folder, removed by `cleanup`. */
export async function tempDir(cleanup: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `bscups-bench-${prefix}-`));
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function sqliteRegistry(dir: string): BenchRegistry {
  return { label: 'SQLite', database: join(dir, 'registry.sqlite'), drop: () => Promise.resolve() };
}

/**
 * A PostgreSQL location with a schema of its own (the registry creates it on
 * migrate), or the reason PostgreSQL cannot be used.
 */
export async function postgresRegistry(cleanup: Cleanup): Promise<BenchRegistry | { readonly unavailable: string }> {
  try {
    await withPg((c) => c.query('select 1'));
  } catch (e) {
    return { unavailable: `PostgreSQL at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')} is unreachable (${(e as Error).message})` };
  }
  const schema = `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  const drop = () => withPg((c) => c.query(`drop schema if exists ${schema} cascade`)).then(() => undefined);
  cleanup.add(drop);
  return { label: 'PostgreSQL', database: url.toString(), drop };
}

async function withPg<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Opens the product's runtime on the bench's registry and blob folder, for setup from the parent. */
export function openBenchRuntime(database: string, blobs: string): Promise<Runtime> {
  return openRuntime(benchConfig({ database, blobs }));
}

/** The i-th bench EUI, 16 uppercase hex digits. */
export function benchEui(i: number): string {
  return (0x0016c00100000000n + BigInt(i)).toString(16).toUpperCase().padStart(16, '0');
}

/** Registers stations through the registry API, a few at a time (PostgreSQL gains from it; SQLite serialises anyway). */
export async function registerStations(registry: StationRegistry, stations: readonly NewStation[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < stations.length) {
      const station = stations[next++] as NewStation;
      await registry.createStation(station);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** What a bench station reports: no credential files, a package version, and its sig-N.key CRCs. */
export function stationReport(eui: string, fields: { cupsUri: string; tcUri: string | null; package: string; keys?: readonly number[] }): UpdateInfoRequest {
  return {
    router: eui,
    cupsUri: fields.cupsUri,
    tcUri: fields.tcUri,
    cupsCredCrc: NO_CREDENTIALS_CRC,
    tcCredCrc: NO_CREDENTIALS_CRC,
    station: STATION_VERSION,
    model: 'linux',
    package: fields.package,
    keys: fields.keys ?? [],
  };
}

/**
 * The exact bytes a station sends for `report` to a server on `port` (PROTOCOL.md 1);
 * `headerLines` adds lines (wrk needs `Connection: close` to open a new connection per exchange).
 */
export function stationBytes(port: number, report: UpdateInfoRequest, headerLines?: string): Buffer {
  return encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(report), ...(headerLines === undefined ? {} : { headerLines }) });
}
