import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { HEALTH_STATES, type HealthState } from '../../core/health.js';
import type { RegistryDatabase } from '../db-schema.js';

/** What reading health at an instant needs (core/health.ts effectiveHealth, in SQL). */
export interface HealthReadingQuery {
  readonly now: Date;
  /** The regular interval of a station without a learned one, ms. */
  readonly intervalMs: number;
  /** Silent past its interval plus this, ms. */
  readonly graceMs: number;
}

/**
 * A station's health at `now` in SQL over `stations s left join station_health h`:
 * silent when its last exchange is older than its interval plus the grace, else
 * the recorded state (unknown without a record), as effectiveHealth decides it.
 */
export function healthStateSql(q: HealthReadingQuery): RawBuilder<string> {
  return sql<string>`(case when s.last_seen_at is not null and s.last_seen_at + coalesce(h.interval_ms, ${q.intervalMs}) + ${q.graceMs} < ${q.now.getTime()} then 'silent' else coalesce(h.state, 'unknown') end)`;
}

/** The condition "health is one of `states`". */
export function healthCondition(q: HealthReadingQuery, states: readonly HealthState[]): Expression<SqlBool> {
  return sql<SqlBool>`${healthStateSql(q)} in (${sql.join([...states])})`;
}

/** Stations by health at `now`, every state present (0 when none). */
export async function countByHealth(db: Kysely<RegistryDatabase>, q: HealthReadingQuery): Promise<Record<HealthState, number>> {
  const rows = await sql<{ health: string; n: number | string }>`select ${healthStateSql(q)} as health, count(*) as n
    from stations s left join station_health h on h.eui = s.eui group by 1`.execute(db);
  const out = Object.fromEntries(HEALTH_STATES.map((s) => [s, 0])) as Record<HealthState, number>;
  for (const r of rows.rows) out[r.health as HealthState] += Number(r.n);
  return out;
}
