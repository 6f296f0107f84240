import { LatencyRecorder, msSince } from './latency.js';

/** A closed-loop load: `concurrency` workers, each issuing its next exchange as soon as the last one ends. */
export interface LoadSpec {
  readonly concurrency: number;
  /** No new exchange starts after this long. */
  readonly durationMs: number;
  /** No new exchange starts after this many. */
  readonly maxRequests: number;
  /** Stop early once this many exchanges failed: a broken server should not keep the bench busy. */
  readonly maxErrors?: number;
  /** Exchange number `i` by worker `w` (0..concurrency-1); resolves to a problem when the answer is wrong, undefined when right. */
  readonly exchange: (i: number, w: number) => Promise<string | undefined>;
}

export interface LoadResult {
  /** Exchanges answered correctly. */
  readonly ok: number;
  /** Exchanges that failed: connection errors, timeouts, wrong status or wrong bytes. */
  readonly errors: number;
  /** The first few problems, to print when errors is not zero. */
  readonly errorSamples: readonly string[];
  /** From the first exchange started to the last one ended. */
  readonly wallMs: number;
  /** Latency of the correct exchanges. */
  readonly latency: LatencyRecorder;
}

/** Runs the load; every worker stops at the first of duration, count or error bound. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latency = new LatencyRecorder(spec.maxRequests);
  const maxErrors = spec.maxErrors ?? 1000;
  const samples: string[] = [];
  let issued = 0;
  let ok = 0;
  let errors = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + spec.durationMs;

  const fail = (problem: string) => {
    errors++;
    if (samples.length < 5) samples.push(problem);
  };

  const worker = async (w: number) => {
    while (issued < spec.maxRequests && errors < maxErrors && Date.now() < deadline) {
      const i = issued++;
      const t0 = process.hrtime.bigint();
      try {
        const problem = await spec.exchange(i, w);
        if (problem === undefined) {
          ok++;
          latency.record(msSince(t0));
        } else fail(problem);
      } catch (e) {
        fail((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => worker(w)));
  return { ok, errors, errorSamples: samples, wallMs: msSince(started), latency };
}
