/** The API's JSON shapes the pages read (the OpenAPI document at /api/v1/openapi.json is the full truth). */

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface Station {
  eui: string;
  id6: string;
  name: string | null;
  labels: Record<string, string>;
  desired: { cupsUri: string | null; tcUri: string | null; cupsCred: { crc: number; size: number } | null; tcCred: { crc: number; size: number } | null };
  reported: { cupsUri: string | null; tcUri: string | null; cupsCredCrc: number; tcCredCrc: number; station: string; model: string; package: string | null; keys: number[] } | null;
  lastSeenAt: string | null;
  lastRemoteAddress: string | null;
  problem: string | null;
  firmware: {
    package: string;
    state: string;
    offers: number;
    maxOffers: number;
    fromPackage: string | null;
    requestedAt: string;
    lastOfferedAt: string | null;
    upgradedAt: string | null;
    lastError: string | null;
    size: number;
    keyCrcs: number[];
  } | null;
  syncState: string;
  pending: string[];
  health: StationHealth;
  createdAt: string;
  updatedAt: string;
}

/** Gateway health from the rhythm of the station's CUPS calls. */
export interface StationHealth {
  state: string;
  reason: string;
  since: string | null;
  intervalMs: number;
  gapMs: number | null;
  earlyRun: number;
}

export interface StationAuth {
  mode: string;
  certificates: { fingerprint: string; category: string; status: string; credCrc: number; notAfter: string | null; createdAt: string; retiredReason: string | null }[];
  tokens: { id: string; category: string; status: string; credCrc: number; createdAt: string; retiredReason: string | null; compromisedAt: string | null }[];
  rotations: { category: string; newCrc: number; targetMode: string | null; startedAt: string }[];
}

export interface StationEvent {
  id: number;
  eui: string;
  at: string;
  type: string;
  message: string;
}

export interface Count {
  value: string | null;
  count: number;
}

export interface FleetSummary {
  total: number;
  byState: Record<string, number>;
  silent: number;
  silentSince: string;
  byPackage: Count[];
  byModel: Count[];
  upgrades: Record<string, number>;
  byHealth: Record<string, number>;
  /** Firmware compliance per model (model null: never seen; newest null: no library package for it). */
  compliance: { model: string | null; newest: string | null; stations: number; states: Record<'latest' | 'behind' | 'in_progress' | 'ahead' | 'no_package' | 'unknown', number> }[];
}

export interface ServerStats {
  startedAt: string;
  totals: { exchanges: number; errors: number; byOutcome: Record<string, number> };
  lastMinute: { exchanges: number; errors: number; seconds: number };
}

/** `soaking` counts offered members in their health soak (part of `offered`). */
export type MemberCounts = Record<'pending' | 'offered' | 'confirmed' | 'failed' | 'skipped' | 'reverted' | 'soaking', number>;

export interface Rollout {
  id: string;
  name: string | null;
  change: Record<string, unknown>;
  selector: Record<string, unknown>;
  plan: Record<string, unknown>;
  state: string;
  /** The state in words, e.g. "denied by bob". */
  stateText: string;
  approval: { decision: 'approved' | 'denied'; by: string; at: string } | null;
  /** The key that created it; approve and deny are offered to other keys only. */
  createdByKeyId: string | null;
  pacing: { maxOffersPerMinute: number | null; maxConcurrentDownloads: number | null; downloadsInFlight: number | null };
  wave: number;
  waves: (MemberCounts & { wave: number; stations: number })[];
  totals: MemberCounts;
  failuresAllowed: number;
  gate: string;
  haltReason: string | null;
  eta: string | null;
  startAt: string | null;
  windows: string[];
  outsideWindows?: { count: number; members: { eui: string; lastCallAt: string; intervalMs: number; usualCallTime: string; zone: string }[] };
  etaNote: string;
  rollbackOf: string | null;
  /** Failed stations given back what they had before (a single rollout only). */
  reverts?: { reverting: number; reverted: number; refused: number };
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface RolloutMember {
  eui: string;
  wave: number;
  state: string;
  reason: string | null;
  offeredAt: string | null;
  deadlineAt: string | null;
  doneAt: string | null;
  /** A failed station's automatic revert: reverting, reverted or refused, with why. */
  revert?: { state: string; reason: string; at: string; doneAt: string | null } | null;
}

export interface RolloutEvent {
  id: number;
  at: string;
  type: string;
  wave: number | null;
  eui: string | null;
  message: string;
}

export interface FirmwarePackage {
  package: string;
  size: number;
  sha256: string;
  keyCrcs: number[];
  models: string[];
  createdBy: string;
  createdAt: string;
}

export interface UnknownStation {
  eui: string;
  firstSeenAt: string;
  lastSeenAt: string;
  count: number;
  lastRemoteAddress: string | null;
  /** The station's last request as it sent it (model, package, station version…). */
  lastRequest: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  role: string;
  via: string;
  remoteAddress: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
}
