import { sql, type Kysely } from 'kysely';
import { SYNC_STATES, type SyncState } from '../core/sync-status.js';
import type { RegistryBackend } from './backend.js';
import { checkLimit, decodeCursor, encodeCursor } from './cursor.js';
import type { RegistryDatabase } from './db-schema.js';
import { translateBackendError } from './db-errors.js';
import type { CountBy, EventQuery, FleetStore, FleetSummary, Page, StationQuery } from './fleet-types.js';
import { millis, num, toEvent } from './row-mapping.js';
import { selectStationPage } from './station-query.js';
import { syncStateSql } from './sync-state-sql.js';
import type { FirmwareState, Station, StationEvent } from './types.js';

type Db = Kysely<RegistryDatabase>;

const FIRMWARE_STATES: readonly FirmwareState[] = ['pending', 'offered', 'upgraded', 'failed'];

/** FleetStore over the registry's database (same backend, same error translation). */
export class KyselyFleetStore implements FleetStore {
  readonly #backend: RegistryBackend;

  constructor(backend: RegistryBackend) {
    this.#backend = backend;
  }

  async #run<T>(work: (db: Db) => Promise<T>): Promise<T> {
    try {
      return await work(this.#backend.db);
    } catch (e) {
      throw translateBackendError(e, this.#backend.display);
    }
  }

  queryStations(query: StationQuery): Promise<Page<Station>> {
    return this.#run((db) => selectStationPage(db, query));
  }

  summarizeFleet(options: { readonly silentSince: Date }): Promise<FleetSummary> {
    return this.#run(async (db) => {
      const [states, silent, byPackage, byModel, upgrades] = await Promise.all([
        db
          .selectFrom('stations as s')
          .leftJoin('firmware_targets as f', 'f.eui', 's.eui')
          .select([syncStateSql.as('state'), sql<number | string>`count(*)`.as('n')])
          .groupBy(sql`1`)
          .execute(),
        db
          .selectFrom('stations')
          .select(sql<number | string>`count(*)`.as('n'))
          .where('last_seen_at', '<', millis(options.silentSince))
          .executeTakeFirstOrThrow(),
        countBy(db, 'reported_package'),
        countBy(db, 'reported_model'),
        db.selectFrom('firmware_targets').select(['state', sql<number | string>`count(*)`.as('n')]).groupBy('state').execute(),
      ]);
      const byState = Object.fromEntries(SYNC_STATES.map((s) => [s, 0])) as Record<SyncState, number>;
      for (const row of states) byState[row.state] = num(row.n);
      const upgradeCounts = Object.fromEntries(FIRMWARE_STATES.map((s) => [s, 0])) as Record<FirmwareState, number>;
      for (const row of upgrades) upgradeCounts[row.state as FirmwareState] = num(row.n);
      return {
        total: Object.values(byState).reduce((a, b) => a + b, 0),
        byState,
        silent: num(silent.n),
        silentSince: options.silentSince,
        byPackage,
        byModel,
        upgrades: upgradeCounts,
      };
    });
  }

  queryEvents(query: EventQuery): Promise<Page<StationEvent>> {
    checkLimit(query.limit);
    const before = query.cursor === undefined ? undefined : (decodeCursor(query.cursor, 2, 'events')[1] as number);
    return this.#run(async (db) => {
      const rows = await db
        .selectFrom('station_events')
        .selectAll()
        .$if(query.eui !== undefined, (q) => q.where('eui', '=', query.eui as string))
        .$if(query.types !== undefined && query.types.length > 0, (q) => q.where('type', 'in', query.types as string[]))
        .$if(query.since !== undefined, (q) => q.where('at', '>=', millis(query.since as Date)))
        .$if(query.until !== undefined, (q) => q.where('at', '<', millis(query.until as Date)))
        .$if(before !== undefined, (q) => q.where('id', '<', before as number))
        .orderBy('id', 'desc')
        .limit(query.limit + 1)
        .execute();
      const page = rows.slice(0, query.limit).map(toEvent);
      const last = page.at(-1);
      return { items: page, nextCursor: rows.length > query.limit && last !== undefined ? encodeCursor(['events', last.id]) : null };
    });
  }
}

async function countBy(db: Db, column: 'reported_package' | 'reported_model'): Promise<CountBy[]> {
  const rows = await db
    .selectFrom('stations')
    .select([sql<string | null>`${sql.ref(column)}`.as('value'), sql<number | string>`count(*)`.as('n')])
    .groupBy(column)
    .execute();
  return rows
    .map((r) => ({ value: r.value, count: num(r.n) }))
    .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
}
