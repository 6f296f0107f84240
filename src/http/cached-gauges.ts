import { Gauge, type Registry } from 'prom-client';

/** Defines one gauge filled from the shared read at scrape time. */
export type DefineGauge<T> = (name: string, help: string, labelNames: string[], fill: (g: Gauge, value: T) => void) => void;

/**
 * Gauges filled at scrape time from one read cached for `ttlMs`, so every
 * scraper (and every gauge of a scrape) costs at most one read per interval.
 * A failed read leaves the gauges empty rather than failing the whole scrape.
 */
export function cachedGauges<T>(registry: Registry, read: () => Promise<T>, ttlMs: number, now: () => number): DefineGauge<T> {
  let cached: { at: number; value: Promise<T | null> } | undefined;
  const current = (): Promise<T | null> => {
    if (cached === undefined || now() - cached.at >= ttlMs) cached = { at: now(), value: read().catch(() => null) };
    return cached.value;
  };
  return (name, help, labelNames, fill) => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const value = await current();
        if (value !== null) fill(this, value);
      },
    });
  };
}
