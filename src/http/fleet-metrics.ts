import type { Gauge, Registry } from 'prom-client';
import { cachedGauges } from './cached-gauges.js';
import type { FleetSummary } from '../registry/index.js';

/** Distinct packages or models exported as labels; the rest are summed under "other". */
const MAX_VALUES = 50;

/**
 * Fleet gauges for Prometheus from the same SQL summary the API serves, cached
 * for `ttlMs` so every scraper (and every replica's scrape) costs at most one
 * summary query per interval. A summary that fails leaves the gauges empty and
 * `bscups_fleet_summary_ok` at 0 rather than failing the whole scrape.
 */
export function registerFleetGauges(registry: Registry, summarize: () => Promise<FleetSummary>, ttlMs = 5_000, now: () => number = Date.now): void {
  const gauge = cachedGauges<FleetSummary>(registry, summarize, ttlMs, now);
  gauge('bscups_fleet_summary_ok', '1 when the last fleet summary query succeeded', [], (g) => g.set(1));
  gauge('bscups_fleet_stations', 'registered stations by sync state (never_seen, problem, failed, pending_config, offered, pending_firmware, in_sync)', ['state'], (g, s) => {
    for (const [state, n] of Object.entries(s.byState)) g.set({ state }, n);
  });
  gauge('bscups_fleet_stations_silent', 'stations seen once but silent for longer than 26 h', [], (g, s) => g.set(s.silent));
  gauge('bscups_fleet_stations_by_package', 'stations by reported package (version.txt)', ['package'], (g, s) => countBy(g, 'package', s.byPackage));
  gauge('bscups_fleet_stations_by_model', 'stations by reported model', ['model'], (g, s) => countBy(g, 'model', s.byModel));
  gauge('bscups_fleet_stations_by_health', 'stations by gateway health from the rhythm of their CUPS calls (unknown, healthy, lns_failing, silent)', ['health'], (g, s) => {
    for (const [health, n] of Object.entries(s.byHealth)) g.set({ health }, n);
  });
  gauge('bscups_fleet_stations_by_compliance', 'stations by reported model and firmware compliance against the newest library package for the model (latest, behind, in_progress, ahead, no_package, unknown)', ['model', 'state'], (g, s) => {
    complianceBy(g, s.compliance);
  });
  gauge('bscups_fleet_upgrades', 'firmware upgrades by state (pending, offered, upgraded, failed)', ['state'], (g, s) => {
    for (const [state, n] of Object.entries(s.upgrades)) g.set({ state }, n);
  });
}

/** Models beyond MAX_VALUES (the least numerous) are summed under model "other"; never-seen stations are model "none". */
function complianceBy(g: Gauge, models: FleetSummary['compliance']): void {
  const other = new Map<string, number>();
  models.forEach((m, i) => {
    for (const [state, n] of Object.entries(m.states)) {
      // A model with a package shows each of its states, 0 included (behind at 0 is news); other models only their own.
      if (n === 0 && (m.newest === null || state === 'no_package' || state === 'unknown')) continue;
      if (i < MAX_VALUES) g.set({ model: m.model ?? 'none', state }, n);
      else other.set(state, (other.get(state) ?? 0) + n);
    }
  });
  for (const [state, n] of other) g.set({ model: 'other', state }, n);
}

function countBy(g: Gauge, label: string, counts: FleetSummary['byPackage']): void {
  let other = 0;
  counts.forEach(({ value, count }, i) => {
    if (i < MAX_VALUES) g.set({ [label]: value ?? 'none' }, count);
    else other += count;
  });
  if (other > 0) g.set({ [label]: 'other' }, other);
}
