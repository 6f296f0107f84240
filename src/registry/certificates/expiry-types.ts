/**
 * The lifetimes of the client certificates stations use for CUPS. A station's
 * expiry is the earliest notAfter among its active CUPS certificates: while a
 * renewal waits for the station, the old certificate is still the one it holds,
 * and once the station moves the old one is retired and drops out.
 */

/** The windows the summary and the gauges count in, shortest first. */
export const EXPIRY_WINDOWS = ['7d', '30d', '90d'] as const;
export type ExpiryWindow = (typeof EXPIRY_WINDOWS)[number];

export interface StationCertificateSummary {
  /** Stations with at least one active CUPS certificate of known expiry. */
  readonly stations: number;
  /** Of those, stations whose certificate has already expired: they can no longer reach CUPS with it. */
  readonly expired: number;
  /** Stations whose certificate expires within each window from now, not yet expired (cumulative). */
  readonly expiringWithin: Readonly<Record<ExpiryWindow, number>>;
  /** The earliest expiry still ahead, or null when none is. */
  readonly nextExpiry: Date | null;
}

/** A station whose active CUPS certificate expires before a given instant. */
export interface ExpiringStation {
  readonly eui: string;
  /** Its earliest-expiring active CUPS certificate. */
  readonly fingerprint: string;
  readonly notAfter: Date;
}
