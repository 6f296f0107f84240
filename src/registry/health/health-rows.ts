import type { ColumnType, Insertable, Kysely, Selectable } from 'kysely';
import type { HealthRecord, RecordedHealthState } from '../../core/health.js';
import type { RegistryDatabase } from '../db-schema.js';

type Int8 = ColumnType<number | string, number, number>;
type Int8Null = ColumnType<number | string | null, number | null, number | null>;

/** station_health (0009_health): one row per station that called since. */
export interface StationHealthTable {
  eui: string;
  state: string;
  early_run: number;
  run_from: Int8Null;
  since: Int8Null;
  gap_ms: Int8Null;
  interval_ms: Int8;
  candidate_ms: Int8Null;
  /** 0 or 1. */
  calls_again: number;
  changed_at: Int8;
}

// A type alias, not an interface: Kysely's withTables wants a record type.
export type HealthTables = {
  station_health: StationHealthTable;
};

export type HealthDb = Kysely<RegistryDatabase & HealthTables>;

export type HealthRow = Selectable<StationHealthTable>;

const n = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
const nOrNull = (v: number | string | null): number | null => (v === null ? null : n(v));
const dOrNull = (v: number | string | null): Date | null => (v === null ? null : new Date(n(v)));

export function toHealth(row: HealthRow): HealthRecord {
  return {
    state: row.state as RecordedHealthState,
    earlyRun: row.early_run,
    runFrom: dOrNull(row.run_from),
    since: dOrNull(row.since),
    gapMs: nOrNull(row.gap_ms),
    intervalMs: n(row.interval_ms),
    candidateMs: nOrNull(row.candidate_ms),
    callsAgain: row.calls_again !== 0,
  };
}

export function healthColumns(rec: HealthRecord, at: Date): Omit<Insertable<StationHealthTable>, 'eui'> {
  return {
    state: rec.state,
    early_run: rec.earlyRun,
    run_from: rec.runFrom?.getTime() ?? null,
    since: rec.since?.getTime() ?? null,
    gap_ms: rec.gapMs === null ? null : Math.round(rec.gapMs),
    interval_ms: Math.round(rec.intervalMs),
    candidate_ms: rec.candidateMs === null ? null : Math.round(rec.candidateMs),
    calls_again: rec.callsAgain ? 1 : 0,
    changed_at: at.getTime(),
  };
}

/** The health records of these stations (absent: never decided). */
export async function selectHealth(db: Kysely<RegistryDatabase>, euis: readonly string[]): Promise<Map<string, HealthRecord>> {
  const out = new Map<string, HealthRecord>();
  if (euis.length === 0) return out;
  const hdb = db.withTables<HealthTables>();
  for (let i = 0; i < euis.length; i += 1000) {
    const rows = await hdb.selectFrom('station_health').selectAll().where('eui', 'in', euis.slice(i, i + 1000)).execute();
    for (const r of rows) out.set(r.eui, toHealth(r));
  }
  return out;
}

/** Every health record (a whole-fleet load). */
export async function selectAllHealth(db: Kysely<RegistryDatabase>): Promise<Map<string, HealthRecord>> {
  const rows = await db.withTables<HealthTables>().selectFrom('station_health').selectAll().execute();
  return new Map(rows.map((r) => [r.eui, toHealth(r)]));
}
