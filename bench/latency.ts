/** Latencies of one run in a fixed-size buffer: recording never allocates, and the count is bounded. */
export class LatencyRecorder {
  readonly #samples: Float64Array;
  #count = 0;

  constructor(capacity: number) {
    this.#samples = new Float64Array(capacity);
  }

  /** Records one latency in milliseconds; samples beyond the capacity are dropped (the runner never issues that many). */
  record(ms: number): void {
    if (this.#count < this.#samples.length) this.#samples[this.#count++] = ms;
  }

  get count(): number {
    return this.#count;
  }

  /** The p-th percentile (0..100) by nearest rank; NaN when nothing was recorded. */
  percentiles(...ps: number[]): number[] {
    if (this.#count === 0) return ps.map(() => NaN);
    const sorted = this.#samples.slice(0, this.#count).sort();
    return ps.map((p) => sorted[Math.min(this.#count - 1, Math.max(0, Math.ceil((p / 100) * this.#count) - 1))] ?? NaN);
  }
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
