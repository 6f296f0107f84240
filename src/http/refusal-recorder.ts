import type { FastifyBaseLogger } from 'fastify';
import type { Refusal } from '../registry/event-types.js';
import type { StationRegistry } from '../registry/types.js';

/** Writes refusal rows after the refusal has been answered. */
export interface RefusalRecorder {
  /**
   * Records a refusal of a registered station once the current answer is out:
   * the write starts on the next turn of the event loop (setImmediate), after
   * the rejection that carries the refusal has been answered (that runs in
   * promise callbacks, all before it). So a registered EUI's refusal takes as
   * long to answer as an unregistered one's, which writes nothing: timing
   * tells a prober nothing about which EUIs exist.
   */
  record(eui: string, refusal: Refusal, at: Date): void;
  /** Resolves once every write asked for so far has been done (or failed and been logged). */
  settled(): Promise<void>;
}

/** Writes in flight at once; more are held (coalesced per station, reason and source) until one finishes. */
const MAX_IN_FLIGHT = 256;
/** Distinct held refusals; past this a refusal is counted in the log instead (a flood far beyond what the database keeps up with). */
const MAX_HELD = 10_000;

interface Held {
  readonly eui: string;
  readonly refusal: Refusal;
  at: Date;
  count: number;
}

/**
 * Answering before writing takes away the backpressure a refused client met
 * when its answer waited for the write, so the writes are bounded here:
 * MAX_IN_FLIGHT at once, then held in memory, one entry per station, reason
 * and source with a count, written as room frees.
 */
export function createRefusalRecorder(registry: Pick<StationRegistry, 'recordRefusal'>, log: FastifyBaseLogger): RefusalRecorder {
  let inFlight = 0;
  const held = new Map<string, Held>();
  let waiters: (() => void)[] = [];
  let dropped = 0;

  const done = (): void => {
    inFlight -= 1;
    const next = held.entries().next();
    if (!next.done) {
      const [key, h] = next.value;
      h.count -= 1;
      if (h.count === 0) held.delete(key);
      start(h.eui, h.refusal, h.at);
      return;
    }
    if (inFlight === 0) {
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    }
  };
  const start = (eui: string, refusal: Refusal, at: Date): void => {
    inFlight += 1;
    registry
      .recordRefusal(eui, refusal, at)
      .catch((e: unknown) => {
        // The refusal stands whether or not it could be written down.
        log.error({ eui, err: e }, 'could not record the auth refusal');
      })
      .finally(done);
  };
  const begin = (eui: string, refusal: Refusal, at: Date): void => {
    if (inFlight < MAX_IN_FLIGHT) {
      start(eui, refusal, at);
      return;
    }
    const key = `${eui}\0${refusal.code}\0${refusal.source ?? ''}`;
    const h = held.get(key);
    if (h !== undefined) {
      h.count += 1;
      h.at = at;
    } else if (held.size < MAX_HELD) {
      held.set(key, { eui, refusal, at, count: 1 });
    } else {
      dropped += 1;
      if (dropped === 1 || dropped % 10_000 === 0) log.error({ dropped }, 'refusals arrive faster than the database records them: some are not recorded as rows');
    }
  };

  return {
    record(eui, refusal, at) {
      inFlight += 1;
      setImmediate(() => {
        inFlight -= 1;
        begin(eui, refusal, at);
      });
    },
    settled() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
