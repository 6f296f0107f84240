import { auditedTransaction, type AuditFor } from './audit-row.js';
import { sql } from 'kysely';
import { SYNC_STATES, type SyncState } from '../core/sync-status.js';
import type { RegistryBackend } from './backend.js';
import { checkLimit, idWindow, newestFirst, newestFirstPage } from './cursor.js';
import { BackendStore } from './backend-store.js';
import type { CountBy, EventQuery, FleetStore, FleetSummary, Page, StationQuery } from './fleet-types.js';
import { millis, num, toEvent } from './row-mapping.js';
import { selectStationCount, selectStationPage } from './station-query.js';
import { countByHealth, type HealthReadingQuery } from './health/health-sql.js';
import { DEFAULT_HEALTH } from '../core/health.js';
import { applyProvisioning, selectProvisioned } from './provisioning-store.js';
import type { ProvisionedStation, ProvisioningPlan } from './provisioning-types.js';
import { combineState, type ConfigState } from './sync-state-sql.js';
import type { FirmwareState, Station, StationEvent } from './types.js';
import { selectRenewalCandidates, summarizeStationCertificates } from './certificates/expiry-store.js';
import type { ExpiringStation, StationCertificateSummary } from './certificates/expiry-types.js';
import { summarizeCompliance, type ReportedGroup, type StationCompliance } from '../core/compliance.js';
import { countChanging, groupKey, readLibrary, readStationCompliance } from './compliance/compliance-sql.js';

const FIRMWARE_STATES: readonly FirmwareState[] = ['pending', 'offered', 'upgraded', 'failed'];

/** FleetStore over the registry's database (same backend, same error translation). */
export class KyselyFleetStore extends BackendStore implements FleetStore {
  constructor(backend: RegistryBackend) {
    super(backend, backend.db);
  }

  queryStations(query: StationQuery): Promise<Page<Station>> {
    return this.run((db) => selectStationPage(db, query));
  }

  countStations(query: Omit<StationQuery, 'limit' | 'cursor'>): Promise<number> {
    return this.run((db) => selectStationCount(db, query));
  }

  /**
   * Queries none of which reads every station row: counts by config state,
   * package and model in one pass over the stations_summary index (also what
   * compliance is counted from, with the library and the stations a firmware
   * change is under way for); the
   * unfinished firmware targets with their station's config state (covered by
   * stations_eui_config), which move stations into the firmware states
   * (combineState); targets by state; silence as an index range.
   */
  summarizeFleet(options: { readonly silentSince: Date; readonly health?: HealthReadingQuery }): Promise<FleetSummary> {
    return this.run(async (db) => {
      // Without a reading time, health is read now with the default thresholds.
      const health = options.health ?? { now: new Date(), intervalMs: DEFAULT_HEALTH.intervalMs, graceMs: DEFAULT_HEALTH.graceMs };
      const [groups, targets, upgradeRows, silent, byHealth, library, changing] = await Promise.all([
        db
          .selectFrom('stations')
          .select([
            sql<ConfigState>`config_state`.as('config'),
            'reported_package as package',
            'reported_model as model',
            sql<number | string>`count(*)`.as('n'),
          ])
          .groupBy([sql`config_state`, 'reported_package', 'reported_model'])
          .execute(),
        // An upgraded target leaves the station's state to its configuration. SQLite's planner
        // would seek the primary key and read each row to compute the virtual config_state;
        // stations_eui_config holds the value, a third of the work at 100,000 stations.
        sql<{ config: ConfigState; state: string; n: number | string }>`select s.config_state as config, f.state as state, count(*) as n
          from firmware_targets f join stations s ${sql.raw(this.backend.flavour === 'sqlite' ? 'indexed by stations_eui_config' : '')} on s.eui = f.eui
          where f.state <> 'upgraded' group by s.config_state, f.state`
          .execute(db)
          .then((r) => r.rows),
        db.selectFrom('firmware_targets').select(['state', sql<number | string>`count(*)`.as('n')]).groupBy('state').execute(),
        db
          .selectFrom('stations')
          .select(sql<number | string>`count(*)`.as('n'))
          .where('last_seen_at', '<', millis(options.silentSince))
          .executeTakeFirstOrThrow(),
        countByHealth(db, health),
        readLibrary(db),
        countChanging(db),
      ]);
      const byState = Object.fromEntries(SYNC_STATES.map((s) => [s, 0])) as Record<SyncState, number>;
      const packages = new Map<string | null, number>();
      const models = new Map<string | null, number>();
      const reported = new Map<string, ReportedGroup>();
      for (const g of groups) {
        const n = num(g.n);
        byState[combineState(g.config, null)] += n;
        packages.set(g.package, (packages.get(g.package) ?? 0) + n);
        models.set(g.model, (models.get(g.model) ?? 0) + n);
        const key = groupKey(g.model, g.package);
        const r = reported.get(key);
        reported.set(key, { model: g.model, package: g.package, stations: (r?.stations ?? 0) + n, changing: changing.get(key) ?? 0 });
      }
      const upgrades = Object.fromEntries(FIRMWARE_STATES.map((s) => [s, 0])) as Record<FirmwareState, number>;
      for (const u of upgradeRows) upgrades[u.state as FirmwareState] = num(u.n);
      for (const t of targets) {
        const n = num(t.n);
        // Counted above as if without a target; move them where the target puts them.
        byState[combineState(t.config, null)] -= n;
        byState[combineState(t.config, t.state)] += n;
      }
      return {
        total: Object.values(byState).reduce((a, b) => a + b, 0),
        byState,
        silent: num(silent.n),
        silentSince: options.silentSince,
        byPackage: sortCounts(packages),
        byModel: sortCounts(models),
        upgrades,
        byHealth,
        compliance: summarizeCompliance(library, [...reported.values()]),
      };
    });
  }

  exportStations(after: string | null, limit: number): Promise<ProvisionedStation[]> {
    checkLimit(limit);
    return this.run((db) => selectProvisioned(db, { after, limit }));
  }

  readProvisioned(euis: readonly string[], options: { readonly credentials?: boolean } = {}): Promise<ProvisionedStation[]> {
    return this.run((db) => selectProvisioned(db, { euis }, this.backend.flavour, false, options.credentials === true));
  }

  provisionStations<T>(euis: readonly string[], plan: ProvisioningPlan<T>, at: Date, audit?: AuditFor<T>): Promise<T> {
    const { flavour } = this.backend;
    return this.run((db) => auditedTransaction(db, audit, (trx) => applyProvisioning(trx, flavour, euis, plan, at)));
  }

  summarizeStationCertificates(now: Date): Promise<StationCertificateSummary> {
    return this.run((db) => summarizeStationCertificates(db, now));
  }

  findRenewalCandidates(range: { readonly from: Date; readonly before: Date; readonly limit: number }): Promise<ExpiringStation[]> {
    return this.run((db) => selectRenewalCandidates(db, range));
  }

  stationCompliance(eui: string): Promise<StationCompliance | undefined> {
    return this.run((db) => readStationCompliance(db, eui));
  }

  queryEvents(query: EventQuery): Promise<Page<StationEvent>> {
    const window = idWindow(query, 'events');
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('station_events')
        .selectAll()
        .$if(query.eui !== undefined, (q) => q.where('eui', '=', query.eui as string))
        .$if(query.types !== undefined && query.types.length > 0, (q) => q.where('type', 'in', query.types as string[]))
        .$call((q) => newestFirst(q, window))
        .execute();
      return newestFirstPage(rows, window, toEvent);
    });
  }
}

function sortCounts(counts: ReadonlyMap<string | null, number>): CountBy[] {
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
}
