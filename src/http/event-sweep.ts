import type { Logger } from 'pino';
import type { StationEventStore } from '../registry/event-types.js';

const HOUR = 3_600_000;

/**
 * Applies the event retention to every station at start and then hourly. Writes
 * already trim the station they touch; the sweep catches stations that went
 * quiet and settings that were lowered. Failures are logged: the next run retries.
 */
export function startEventSweep(registry: Pick<StationEventStore, 'pruneEvents'>, logger: Logger, clock: () => Date = () => new Date(), everyMs = HOUR): { stop(): void } {
  let running: Promise<void> | undefined;
  const run = (): void => {
    if (running !== undefined) return;
    running = registry
      .pruneEvents(clock())
      .then((deleted) => {
        if (deleted > 0) logger.info({ deleted }, 'event retention: old station events deleted');
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'event retention sweep failed; retrying at the next one'))
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
