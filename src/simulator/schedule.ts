/** CUPS_RESYNC_INTV: retry after a failure, reconnect after a CUPS change, poll without TC. */
export const RESYNC_INTERVAL_MS = 60_000;
/** CUPS_OKSYNC_INTV: next regular check after a successful exchange. */
export const OK_SYNC_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** The facts about one exchange that decide when the station calls again. */
export interface ScheduleInput {
  readonly ok: boolean;
  /** The response carried a CUPS URI or a CUPS credential segment (even one the station then ignored). */
  readonly cupsChanged: boolean;
  /** tc.uri exists after the exchange. */
  readonly hasTcUri: boolean;
}

/**
 * Delay before the next exchange (PROTOCOL 5.2, cups.c cups_ondone): 1 min after a
 * failure or a CUPS URI/credential change, else 24 h, except that a station with no
 * TC URI cannot connect to an LNS and so comes back to CUPS every minute.
 */
export function nextExchangeDelay(input: ScheduleInput): number {
  if (!input.ok || input.cupsChanged || !input.hasTcUri) return RESYNC_INTERVAL_MS;
  return OK_SYNC_INTERVAL_MS;
}
