import type { FastifyBaseLogger } from 'fastify';

/** Log lines of refused requests, coalesced like the refusal rows (one per reason and source). */
export interface RefusalLog {
  /**
   * A refused request: its line is written at once the first time its
   * message, code and source are seen; repeats within the interval are
   * counted and written as one line with the count when the interval ends.
   */
  refused(level: 'info' | 'warn', msg: string, code: string, source: string | null, fields: Readonly<Record<string, unknown>>): void;
  /** Writes the pending counts now (shutdown). */
  flush(): void;
}

/** Keys held per interval; a flood from more sources than this is counted on one line. */
const MAX_KEYS = 1000;
const OTHER = '\0other';

interface Pending {
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly code: string;
  source: string | null;
  /** Repeats since the last line. */
  count: number;
  last: Readonly<Record<string, unknown>>;
}

/**
 * A flood of refusals (wrong tokens from many probes, one host retrying) must
 * not flood the log: 10,000 refusals from one address make one line, then one
 * line per `intervalMs` while they go on, each with the count of what it
 * stands for. A key that saw no repeat during an interval is forgotten, so its
 * next refusal is again written at once.
 */
export function createRefusalLog(logger: FastifyBaseLogger, intervalMs: number): RefusalLog {
  const pending = new Map<string, Pending>();
  let timer: NodeJS.Timeout | undefined;

  const write = (p: Pending, repeated: number): void => {
    const line = { ...p.last, code: p.code, remoteAddress: p.source, refused: repeated, intervalSeconds: intervalMs / 1000 };
    const msg = `${p.msg} (${repeated} more like it within ${intervalMs / 1000} s)`;
    if (p.level === 'warn') logger.warn(line, msg);
    else logger.info(line, msg);
  };

  const flush = (): void => {
    for (const [key, p] of pending) {
      if (p.count === 0) {
        pending.delete(key);
        continue;
      }
      write(p, p.count);
      p.count = 0;
    }
  };

  const tick = (): void => {
    timer = undefined;
    flush();
    if (pending.size > 0) arm();
  };
  const arm = (): void => {
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };

  return {
    refused(level, msg, code, source, fields) {
      let key = `${msg}\0${code}\0${source ?? ''}`;
      let p = pending.get(key);
      if (p === undefined && pending.size >= MAX_KEYS) {
        // More sources than the map holds within one interval: the rest share one line.
        key = `${msg}\0${code}\0${OTHER}`;
        p = pending.get(key);
        if (p === undefined) {
          p = { level, msg: `${msg} (from other sources)`, code, source: null, count: 0, last: fields };
          pending.set(key, p);
        }
      }
      if (p === undefined) {
        pending.set(key, { level, msg, code, source, count: 0, last: fields });
        if (level === 'warn') logger.warn({ ...fields, code, remoteAddress: source }, msg);
        else logger.info({ ...fields, code, remoteAddress: source }, msg);
      } else {
        p.count += 1;
        p.last = fields;
      }
      if (timer === undefined) arm();
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      flush();
      pending.clear();
    },
  };
}
