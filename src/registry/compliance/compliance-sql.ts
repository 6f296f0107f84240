import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { complianceState, newestByModel, newestFor, type ComplianceState, type LibraryPackage, type NewestByModel, type ReportedGroup, type StationCompliance } from '../../core/compliance.js';
import type { RegistryDatabase } from '../db-schema.js';
import { num } from '../row-mapping.js';

type Db = Kysely<RegistryDatabase>;

/**
 * Stations a firmware change is under way for: an unfinished firmware target,
 * or a pending or offered member of an active firmware rollout (rollout_claims
 * holds exactly the stations of active rollouts). Small tables first, so both
 * dialects read the stations by primary key: the cost follows the stations in
 * progress, not the fleet. `union all`: IN is a semi-join, so duplicates cost
 * nothing there, while `union` would sort them away first.
 */
const CHANGING_EUIS = sql`(select f.eui from firmware_targets f where f.state in ('pending', 'offered')
  union all select c.eui from rollout_claims c
    join rollouts r on r.id = c.rollout_id
    join rollout_members m on m.rollout_id = c.rollout_id and m.eui = c.eui
  where r.kind = 'firmware' and m.state in ('pending', 'offered'))`;

/** The firmware library as compliance reads it (a few rows: the library, not the fleet). */
export async function readLibrary(db: Db): Promise<LibraryPackage[]> {
  const { rows } = await sql<{ package: string; models: string; created_at: number | string }>`select package, models, created_at from firmware_packages`.execute(db);
  return rows.map((r) => ({ package: r.package, models: JSON.parse(r.models) as string[], createdAt: new Date(num(r.created_at)) }));
}

/** Stations a firmware change is under way for, by reported model and package. */
export async function countChanging(db: Db): Promise<Map<string, number>> {
  const { rows } = await sql<{ model: string | null; package: string | null; n: number | string }>`select s.reported_model as model, s.reported_package as package, count(*) as n
    from stations s where s.eui in ${CHANGING_EUIS} group by s.reported_model, s.reported_package`.execute(db);
  return new Map(rows.map((r) => [groupKey(r.model, r.package), num(r.n)]));
}

/** The key of a (model, package) group in the maps above. */
export function groupKey(model: string | null, pkg: string | null): string {
  return JSON.stringify([model, pkg]);
}

/** The newest package for the station's model, in SQL (null: none). */
function newestSql(newest: NewestByModel): RawBuilder<string | null> {
  // Typed, since PostgreSQL cannot infer a bare parameter's type in `$1 is not null`.
  const fallback = newest.anyModel === null ? sql`cast(null as text)` : sql`cast(${newest.anyModel} as text)`;
  if (newest.models.size === 0) return sql<string | null>`${fallback}`;
  const whens = [...newest.models].map(([model, pkg]) => sql`when ${model} then ${pkg}`);
  return sql<string | null>`(case s.reported_model ${sql.join(whens, sql` `)} else ${fallback} end)`;
}

/**
 * The condition "the station's compliance is one of `states`", as
 * summarizeCompliance counts it. Reads the library and, when a state needs to
 * tell `ahead` apart, the distinct reported (model, package) pairs: one pass
 * over the stations_summary index, never the station rows.
 */
export async function complianceCondition(db: Db, states: readonly ComplianceState[]): Promise<Expression<SqlBool>> {
  const newest = newestByModel(await readLibrary(db));
  const n = newestSql(newest);
  const known = sql`s.reported_model is not null`;
  const needsAhead = states.some((s) => s === 'ahead' || s === 'behind' || s === 'in_progress');
  const aheadPairs = needsAhead ? await readAheadPairs(db, newest) : [];
  const ahead = aheadPairs.length === 0
    ? sql<SqlBool>`1 = 0`
    // Never NULL (a station without a package is not ahead), so that `not ahead` holds for it.
    : sql<SqlBool>`(s.reported_package is not null and (${sql.join(aheadPairs.map((p) => sql`(s.reported_model = ${p.model} and s.reported_package = ${p.package})`), sql` or `)}))`;
  const notLatest = sql`${n} is not null and (s.reported_package is null or s.reported_package <> ${n}) and not (${ahead})`;
  const byState: Record<ComplianceState, RawBuilder<SqlBool>> = {
    unknown: sql`s.reported_model is null`,
    no_package: sql`(${known} and ${n} is null)`,
    latest: sql`(${known} and s.reported_package = ${n})`,
    ahead: sql`(${known} and ${ahead})`,
    in_progress: sql`(${known} and ${notLatest} and s.eui in ${CHANGING_EUIS})`,
    behind: sql`(${known} and ${notLatest} and s.eui not in ${CHANGING_EUIS})`,
  };
  return sql<SqlBool>`(${sql.join([...new Set(states)].map((s) => byState[s]), sql` or `)})`;
}

/** Reported (model, package) pairs that are ahead of the newest package for their model. */
async function readAheadPairs(db: Db, newest: NewestByModel): Promise<ReportedGroup[]> {
  const { rows } = await sql<{ model: string; package: string }>`select reported_model as model, reported_package as package from stations
    where reported_model is not null and reported_package is not null group by reported_model, reported_package`.execute(db);
  return rows
    .filter((r) => complianceState(newestFor(newest, r.model), r, false) === 'ahead')
    .map((r) => ({ model: r.model, package: r.package, stations: 0, changing: 0 }));
}

/** One station's compliance; undefined when it is not registered. */
export async function readStationCompliance(db: Db, eui: string): Promise<StationCompliance | undefined> {
  const [station, library, changing] = await Promise.all([
    db.selectFrom('stations').select(['reported_model as model', 'reported_package as package']).where('eui', '=', eui).executeTakeFirst(),
    readLibrary(db),
    sql<{ n: number | string }>`select count(*) as n from ${CHANGING_EUIS} x where x.eui = ${eui}`.execute(db),
  ]);
  if (station === undefined) return undefined;
  const newest = newestFor(newestByModel(library), station.model);
  return { state: complianceState(newest, station, num(changing.rows[0]?.n ?? 0) > 0), newest };
}
