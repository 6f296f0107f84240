import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { localActor } from '../src/operations/context.js';
import { importStations } from '../src/operations/station-import.js';
import { issueStationToken } from '../src/pki/index.js';
import { buildCredentialBlob, credentialCrc, encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import type { UpdateInfoRequest } from '../src/protocol/types.js';
import type { StationAuthMode } from '../src/registry/auth-types.js';
import type { NewStation } from '../src/registry/types.js';
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

/**
 * Registers stations as an operator provisions a fleet: one bulk import
 * (operations/station-import, one transaction per 5,000 stations) with their
 * desired CUPS and TC URIs and auth mode.
 */
export async function registerStations(runtime: Runtime, stations: readonly NewStation[], authMode: StationAuthMode = 'none'): Promise<void> {
  const rows = stations.map((s, i) => {
    const { cupsUri, tcUri, ...rest } = s.desired ?? {};
    if (Object.keys(rest).length > 0 || s.name !== undefined || s.labels !== undefined) throw new Error(`bench stations are registered with their URIs only, not ${Object.keys(rest).join(', ')}`);
    return { row: i + 1, fields: { eui: s.eui, authMode, ...(cupsUri == null ? {} : { cupsUri }), ...(tcUri == null ? {} : { tcUri }) }, problems: [] };
  });
  const ctx = { registry: runtime.registry, fleet: runtime.fleet, access: runtime.access, blobs: runtime.blobs, clock: () => new Date(), actor: localActor() };
  // Forced: token stations get their tokens right after (registerTokenStations), as an operator would after --force.
  const imported = await importStations(ctx, rows, { batchSize: 5_000, force: true });
  if (imported.counts.create !== stations.length) {
    const bad = imported.rows.find((r) => r.action !== 'create');
    throw new Error(`registering ${stations.length} stations: ${imported.counts.create} created; row ${bad?.row}: ${bad?.action} ${JSON.stringify(bad?.errors ?? [])}`);
  }
}

/** A station's CUPS token as the station holds it: the header line it sends and the CRC it reports for its credential. */
export interface BenchToken {
  /** `Authorization: Bearer …`, sent verbatim over TLS (PROTOCOL.md 4.3). */
  readonly headerLine: string;
  /** CRC of its CUPS credential blob (trust + token): its `cupsCredCrc`. */
  readonly credCrc: number;
  readonly id: string;
  /** SHA-256 of the secret, as the server stores it. */
  readonly hash: string;
}

/** `count` fresh tokens as the server issues them (`bscups station issue-token`), each in a credential with `trust` (the CA certificate, DER). */
export function benchTokens(count: number, trust: Buffer): BenchToken[] {
  return Array.from({ length: count }, () => {
    const token = issueStationToken();
    return { headerLine: token.headerLine, credCrc: credentialCrc(buildCredentialBlob({ trust, token: token.headerLine })), id: token.id, hash: token.hash };
  });
}

/**
 * Registers stations that authenticate with a token of their own, as an operator
 * provisions a fleet: one bulk import (auth mode token, their TC URI), then
 * station i's CUPS token `tokens[i]` stored by its hash through the registry, a
 * few at a time. The credential blob itself is not stored (the stations already
 * hold it, and none is desired), so an up-to-date poll is still answered with
 * the 14 zero bytes.
 */
export async function registerTokenStations(runtime: Runtime, euis: readonly string[], tokens: readonly BenchToken[], tcUri: string): Promise<void> {
  if (tokens.length < euis.length) throw new Error(`${euis.length} token stations but ${tokens.length} tokens`);
  await registerStations(runtime, euis.map((eui) => ({ eui, desired: { tcUri } })), 'token');
  const at = new Date();
  let next = 0;
  const worker = async () => {
    while (next < euis.length) {
      const i = next++;
      const { id, hash, credCrc } = tokens[i] as BenchToken;
      await runtime.registry.addToken(euis[i] as string, { id, hash, category: 'cups', credCrc }, at);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** What a bench station reports: no credential files (unless its `cupsCredCrc` is given), a package version, and its sig-N.key CRCs. */
export function stationReport(eui: string, fields: { cupsUri: string; tcUri: string | null; package: string; keys?: readonly number[]; cupsCredCrc?: number }): UpdateInfoRequest {
  return {
    router: eui,
    cupsUri: fields.cupsUri,
    tcUri: fields.tcUri,
    cupsCredCrc: fields.cupsCredCrc ?? NO_CREDENTIALS_CRC,
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
