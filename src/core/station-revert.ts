import type { HealthRecord } from './health.js';

/**
 * The guard a direct `station set --tc-uri URI --revert-unhealthy` leaves, pure:
 * the TC URI the station had before is put back when its health turns
 * lns_failing after the new one was delivered (it still reaches CUPS, within
 * minutes: PROTOCOL.md 8), and the guard is dropped once the station is healthy
 * with the new one. Decided in the transaction of the exchange that shows it,
 * so the old URI goes out at the station's next exchange.
 */
export interface RevertGuard {
  readonly eui: string;
  /** What is put back. */
  readonly from: string;
  /** The TC URI the operator set. */
  readonly to: string;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export type GuardVerdict =
  /** Put `from` back: the station failed with the new URI. */
  | { readonly kind: 'revert'; readonly reason: string }
  /** Drop the guard: the station is healthy with the new URI, or its desired URI changed since. */
  | { readonly kind: 'clear'; readonly reason: string }
  | { readonly kind: 'wait' };

export function judgeGuard(
  guard: RevertGuard,
  station: { readonly desiredTcUri: string | null; readonly reportedTcUri: string | null },
  health: HealthRecord | null | undefined,
): GuardVerdict {
  if (station.desiredTcUri !== guard.to) return { kind: 'clear', reason: `its desired TC URI changed since (now ${station.desiredTcUri ?? 'none'}): ${guard.from} is not put back` };
  // Not delivered yet: a failure now is not the new URI's.
  if (station.reportedTcUri !== guard.to || health === null || health === undefined) return { kind: 'wait' };
  if (health.state === 'lns_failing') {
    // A station already failing before the change keeps the change: the old URI failed too.
    if (health.since !== null && health.since.getTime() < guard.createdAt.getTime()) return { kind: 'wait' };
    return { kind: 'revert', reason: `its health turned lns_failing once it had TC URI ${guard.to}` };
  }
  if (health.state === 'healthy' && health.earlyRun === 0) return { kind: 'clear', reason: `the station is healthy with TC URI ${guard.to}` };
  return { kind: 'wait' };
}
