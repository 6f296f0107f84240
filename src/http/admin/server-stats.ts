import type { ServerMetrics } from '../metrics.js';
import type { RefusedExchange } from '../recent-refusals.js';

/** Exchange counters of this process since it started. */
export interface ExchangeTotals {
  readonly exchanges: number;
  /** Answers other than ok: refused, invalid, unknown stations, failures. */
  readonly errors: number;
  readonly byOutcome: Readonly<Record<string, number>>;
}

/** What the admin API reads to answer /server/stats. */
export interface ServerStatsSource {
  totals(): Promise<ExchangeTotals>;
  /** Totals as they were about `ms` ago (the oldest kept sample when the process is younger). */
  before(ms: number): { readonly at: Date; readonly totals: ExchangeTotals } | null;
  readonly startedAt: Date;
  /** The last non-ok answers of the station listener, newest first. */
  recentRefusals(): RefusedExchange[];
  stop(): void;
}

const REQUESTS = 'bscups_update_info_requests_total';

/** Reads the update-info counter of the station listener's own metrics, by outcome. */
async function readTotals(metrics: ServerMetrics): Promise<ExchangeTotals> {
  const metric = metrics.registry.getSingleMetric(REQUESTS);
  const byOutcome: Record<string, number> = {};
  let exchanges = 0;
  let errors = 0;
  for (const v of metric === undefined ? [] : (await metric.get()).values) {
    const outcome = String(v.labels['outcome'] ?? 'unknown');
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + v.value;
    exchanges += v.value;
    if (outcome !== 'ok') errors += v.value;
  }
  return { exchanges, errors, byOutcome };
}

/**
 * Samples the counters every `everyMs` and keeps the last ten minutes, so a rate
 * ("exchanges in the last minute") is a subtraction, not a scrape the browser
 * would have to parse and remember across page loads.
 */
export function startServerStats(metrics: ServerMetrics, everyMs = 5000, clock: () => Date = () => new Date()): ServerStatsSource {
  const startedAt = clock();
  const zero: ExchangeTotals = { exchanges: 0, errors: 0, byOutcome: {} };
  const samples: { at: Date; totals: ExchangeTotals }[] = [{ at: startedAt, totals: zero }];
  const keep = Math.ceil(600_000 / everyMs) + 1;
  const timer = setInterval(() => {
    void readTotals(metrics).then((totals) => {
      samples.push({ at: clock(), totals });
      if (samples.length > keep) samples.shift();
    });
  }, everyMs);
  timer.unref();
  return {
    startedAt,
    totals: () => readTotals(metrics),
    recentRefusals: () => metrics.recentRefusals.list(),
    before(ms) {
      const cutoff = clock().getTime() - ms;
      let found = samples[0] ?? null;
      for (const s of samples) if (s.at.getTime() <= cutoff) found = s;
      return found;
    },
    stop: () => clearInterval(timer),
  };
}
