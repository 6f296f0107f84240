import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PollHistogram } from './poll-histogram.js';
import { RecentRefusals } from './recent-refusals.js';

/** Prometheus metrics of one app; a registry per app so several apps in one process never collide. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Counts an answered update-info by outcome and observes its latency. */
  observeExchange(outcome: string, seconds: number): void;
  /** Counts what an answer carried. */
  countSent(parts: readonly string[]): void;
  /** Counts the bytes of a firmware delivery that completed. */
  countFirmwareBytes(bytes: number): void;
  /** Notes a station EUI seen (registered or not). */
  sawStation(eui: string, registered: boolean): void;
  /** Counts a connection closed on arrival because the connection cap was reached. */
  countRefusedConnection(): void;
  /** The last non-ok answers, for the dashboard (written on the error path only). */
  readonly recentRefusals: RecentRefusals;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  /** update-info answers by outcome not yet added to the requests counter. */
  const pending = new Map<string, number>();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'bscups_' });
  // Registered with the registry, which is where it is read from.
  new Counter({
    name: 'bscups_update_info_requests_total',
    help: 'update-info requests by outcome (ok, invalid, unknown_station, unauthenticated, forbidden, unavailable, error, cut_off: the client hung up before the whole answer was written)',
    labelNames: ['outcome'],
    registers: [registry],
    // Counted in plain numbers on every poll and added here, when the counter is read (a scrape, /server/stats).
    // Nothing resets this registry; a reset would let counts pending at that moment show after it.
    collect() {
      for (const [outcome, count] of pending) this.inc({ outcome }, count);
      pending.clear();
    },
  });
  // Observed on every poll: a histogram that only counts until scraped (prom-client's hashes labels per call).
  const latency = new PollHistogram({
    name: 'bscups_update_info_duration_seconds',
    help: 'time to answer update-info, including streaming any firmware',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const sent = new Counter({
    name: 'bscups_sent_total',
    help: 'answers that carried a part: cupsUri, tcUri, cupsCred, tcCred, firmware',
    labelNames: ['part'],
    registers: [registry],
  });
  const firmwareBytes = new Counter({
    name: 'bscups_firmware_bytes_total',
    help: 'firmware bytes of completed deliveries to stations',
    registers: [registry],
  });
  const seenGauge = new Gauge({
    name: 'bscups_stations_seen',
    help: 'distinct station EUIs seen by this process since start',
    labelNames: ['registered'],
    registers: [registry],
  });
  const refusedConnections = new Counter({
    name: 'bscups_connections_refused_total',
    help: 'connections closed on arrival because --max-connections were open',
    registers: [registry],
  });
  const seenBy = { true: new Set<string>(), false: new Set<string>() };
  return {
    registry,
    recentRefusals: new RecentRefusals(),
    observeExchange(outcome, seconds) {
      // inc({ outcome }) would validate and hash the labels on every poll.
      pending.set(outcome, (pending.get(outcome) ?? 0) + 1);
      latency.observe(seconds);
    },
    countSent(parts) {
      for (const part of parts) sent.inc({ part });
    },
    countFirmwareBytes(bytes) {
      firmwareBytes.inc(bytes);
    },
    countRefusedConnection() {
      refusedConnections.inc();
    },
    sawStation(eui, registered) {
      const set = seenBy[registered ? 'true' : 'false'];
      // Bounded: a flood of random EUIs must not grow memory without end.
      if (set.has(eui) || seenBy.true.size + seenBy.false.size >= 1_000_000) return;
      set.add(eui);
      seenGauge.set({ registered: String(registered) }, set.size);
    },
  };
}

/** Maps an HTTP status of update-info to the outcome label. */
export function outcomeOf(status: number): string {
  if (status === 200) return 'ok';
  if (status === 400 || status === 413 || status === 415) return 'invalid';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'unknown_station';
  if (status === 503) return 'unavailable';
  return 'error';
}
