/** CUPS_RESYNC_INTV: retry after a failure, reconnect after a CUPS change, poll without TC. */
export const RESYNC_INTERVAL_MS = 60_000;
/** CUPS_OKSYNC_INTV: next regular check after a successful exchange. */
export const OK_SYNC_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** The router-info back-off after a TC failure (0, 10, 20, 30, 40, 50, 60, 60, 60, 60 s over 11 attempts, PROTOCOL.md 8.1). */
export const TC_BACKOFF_MS = 390_000;
/** An LNS host that drops packets: each of the 11 connect attempts blocks ~134 s on top of the back-off (measured ~25-32 min). */
export const TC_UNANSWERED_MS = 28 * 60_000;

/**
 * What became of the station's LNS (TC) connection after an exchange:
 * connected (router-info answered, muxs connected), refused (refused, reset,
 * or an HTTP error on the WebSocket upgrade), rejected (router-info answered
 * with an error), unanswered (no answer to SYN). undefined: not tried.
 */
export type TcOutcome = 'connected' | 'refused' | 'rejected' | 'unanswered';

/** The facts about one exchange that decide when the station calls again. */
export interface ScheduleInput {
  readonly ok: boolean;
  /** The response carried a CUPS URI or a CUPS credential segment (even one the station then ignored). */
  readonly cupsChanged: boolean;
  /** tc.uri exists after the exchange. */
  readonly hasTcUri: boolean;
  /** What the TC connection did after the exchange; undefined is taken as connected. */
  readonly tc?: TcOutcome;
}

/**
 * Delay before the next exchange (PROTOCOL 5.2 and 8, cups.c cups_ondone, tc.c
 * tc_continue): 1 min after a failure or a CUPS URI/credential change, or
 * without a TC URI; with one, 24 h while the LNS connection works, else the
 * station comes back when TC gives up: 450 s after a refused connection (the
 * back-off, then CUPS_RESYNC_INTV), 60 s after a rejected router-info.
 */
export function nextExchangeDelay(input: ScheduleInput): number {
  if (!input.ok || input.cupsChanged || !input.hasTcUri) return RESYNC_INTERVAL_MS;
  switch (input.tc) {
    case 'refused':
      return TC_BACKOFF_MS + RESYNC_INTERVAL_MS;
    case 'rejected':
      return RESYNC_INTERVAL_MS;
    case 'unanswered':
      return TC_UNANSWERED_MS;
    default:
      return OK_SYNC_INTERVAL_MS;
  }
}
