import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { checkLimit, decodeCursor, encodeCursor, likeLiteral } from './cursor.js';
import type { LabelSelector, Page, StationQuery, StationSort } from './fleet-types.js';
import { millis, num, toStation } from './row-mapping.js';
import { syncStateSql } from './sync-state-sql.js';
import { selectHealth } from './health/health-rows.js';
import { healthCondition } from './health/health-sql.js';
import type { Station } from './types.js';
import { certExpiringCondition } from './certificates/expiry-store.js';
import { complianceCondition } from './compliance/compliance-sql.js';

type Db = Kysely<RegistryDatabase>;

/** Sort keys never null, so keyset comparisons need no NULL cases. */
const SORT_KEY: Readonly<Record<StationSort, Expression<unknown>>> = {
  eui: sql`s.eui`,
  name: sql`coalesce(s.name, '')`,
  lastSeen: sql`coalesce(s.last_seen_at, 0)`,
};

function labelCondition(selector: LabelSelector): Expression<SqlBool> {
  const { key, value, op } = selector;
  if (op === 'exists') return sql<SqlBool>`s.eui in (select l.eui from station_labels l where l.key = ${key})`;
  if (op === 'absent') return sql<SqlBool>`s.eui not in (select l.eui from station_labels l where l.key = ${key})`;
  const match = sql`(select l.eui from station_labels l where l.key = ${key} and l.value = ${value ?? ''})`;
  return op === 'eq' ? sql<SqlBool>`s.eui in ${match}` : sql<SqlBool>`s.eui not in ${match}`;
}

/** The filters of `query` as conditions; compliance reads the library (and the reported versions) first. */
async function conditions(db: Db, query: StationQuery): Promise<Expression<SqlBool>[]> {
  const out: Expression<SqlBool>[] = (query.labels ?? []).map(labelCondition);
  if (query.compliance !== undefined && query.compliance.length > 0) out.push(await complianceCondition(db, query.compliance));
  if (query.states !== undefined && query.states.length > 0) {
    out.push(sql<SqlBool>`${syncStateSql} in (${sql.join(query.states)})`);
  }
  if (query.silentSince !== undefined) {
    out.push(sql<SqlBool>`(s.last_seen_at is not null and s.last_seen_at < ${millis(query.silentSince)})`);
  }
  if (query.health !== undefined && query.health.states.length > 0) out.push(healthCondition(query.health.reading, query.health.states));
  if (query.changedSince !== undefined) {
    const since = millis(query.changedSince);
    out.push(sql<SqlBool>`(s.updated_at >= ${since} or s.reported_at >= ${since})`);
  }
  if (query.certExpiringBefore !== undefined) out.push(certExpiringCondition(query.certExpiringBefore));
  if (query.model !== undefined) out.push(sql<SqlBool>`s.reported_model = ${query.model}`);
  if (query.package !== undefined) out.push(sql<SqlBool>`s.reported_package = ${query.package}`);
  if (query.stationVersion !== undefined) {
    out.push(sql<SqlBool>`s.reported_station like ${`${likeLiteral(query.stationVersion)}%`} escape '\\'`);
  }
  if (query.text !== undefined && query.text !== '') {
    const text = likeLiteral(query.text);
    out.push(sql<SqlBool>`(s.eui like ${`%${text.toUpperCase()}%`} escape '\\' or lower(coalesce(s.name, '')) like ${`%${text.toLowerCase()}%`} escape '\\')`);
  }
  return out;
}

/** One keyset page ordered by the sort key then EUI (unique, so the order is total). */
export async function selectStationPage(db: Db, query: StationQuery): Promise<Page<Station>> {
  checkLimit(query.limit);
  const sort = query.sort ?? 'eui';
  const desc = query.descending === true;
  const key = SORT_KEY[sort];
  const tag = `stations:${sort}:${desc ? 'desc' : 'asc'}`;
  const where = await conditions(db, query);
  if (query.cursor !== undefined) {
    const [, after, eui] = decodeCursor(query.cursor, 3, tag) as [string, string | number, string];
    const cmp = desc ? sql.raw('<') : sql.raw('>');
    where.push(
      sort === 'eui'
        ? sql<SqlBool>`s.eui ${cmp} ${eui}`
        : sql<SqlBool>`(${key} ${cmp} ${after} or (${key} = ${after} and s.eui ${cmp} ${eui}))`,
    );
  }
  const direction = desc ? sql.raw('desc') : sql.raw('asc');
  // The firmware target is joined only when a state filter needs it; the page's targets are read after.
  const needsTarget = query.states !== undefined && query.states.length > 0;
  const rows = await db
    .selectFrom('stations as s')
    .$if(needsTarget, (q) => q.leftJoin('firmware_targets as f', 'f.eui', 's.eui'))
    .$if(query.health !== undefined, (q) => q.leftJoin(sql`station_health`.as('h'), (j) => j.onRef(sql.ref('h.eui') as never, '=', 's.eui')))
    .selectAll('s')
    .select(sql<string | number>`${key}`.as('sort_key'))
    .$if(where.length > 0, (q) => q.where((eb) => eb.and(where)))
    .orderBy(sql`${key} ${direction}`)
    .$if(sort !== 'eui', (q) => q.orderBy(sql`s.eui ${direction}`))
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  const euis = page.map((r) => r.eui);
  const targets =
    euis.length === 0 ? [] : await db.selectFrom('firmware_targets').selectAll().where('eui', 'in', euis).execute();
  const byEui = new Map(targets.map((t) => [t.eui, t]));
  const health = await selectHealth(db, euis);
  const last = page.at(-1);
  const nextCursor =
    rows.length > query.limit && last !== undefined
      ? encodeCursor([tag, sort === 'lastSeen' ? num(last.sort_key) : last.sort_key, last.eui])
      : null;
  return {
    items: page.map(({ sort_key: _ignored, ...row }) => ({ ...toStation(row, byEui.get(row.eui)), health: health.get(row.eui) ?? null })),
    nextCursor,
  };
}

/** How many stations match the filters of `query` (its sort, limit and cursor do not matter). */
export async function selectStationCount(db: Db, query: Omit<StationQuery, 'limit' | 'cursor'>): Promise<number> {
  const where = await conditions(db, { ...query, limit: 1 });
  const needsTarget = query.states !== undefined && query.states.length > 0;
  const row = await db
    .selectFrom('stations as s')
    .$if(needsTarget, (q) => q.leftJoin('firmware_targets as f', 'f.eui', 's.eui'))
    .select(sql<number | string>`count(*)`.as('n'))
    .$if(where.length > 0, (q) => q.where((eb) => eb.and(where)))
    .executeTakeFirstOrThrow();
  return num(row.n);
}
