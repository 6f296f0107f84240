import type { CertificateFileLifetime, CertificateLifetimes } from '../../operations/certificate-lifetimes.js';
import { pendingParts, syncState } from '../../core/sync-status.js';
import { formatId6 } from '../../protocol/index.js';
import { DEFAULT_HEALTH, type HealthThresholds } from '../../core/health.js';
import { healthView } from '../../core/health-reason.js';
import type { ApiKeyInfo, AuditEntry, SigningKey, Station, StationEvent, UnknownStation, FleetSummary } from '../../registry/index.js';

// Model objects to the JSON the schemas in schemas.ts describe: times as ISO
// strings, blob names and signatures left out (internal, and large).

const iso = (d: Date) => d.toISOString();
const isoOrNull = (d: Date | null) => (d === null ? null : d.toISOString());

/** What the health shown needs: the time it is read at and the server's thresholds (silent = interval + grace). */
export interface HealthReading {
  readonly now: Date;
  readonly thresholds: HealthThresholds;
}

/** A station as JSON; its health as read at `health.now` (the default: now, the default thresholds). */
export function stationJson(s: Station, health: HealthReading = { now: new Date(), thresholds: DEFAULT_HEALTH }) {
  const cred = (c: Station['desired']['cupsCred']) => (c === null ? null : { crc: c.crc, size: c.size });
  const f = s.firmware;
  return {
    eui: s.eui,
    id6: formatId6(s.eui),
    name: s.name,
    labels: { ...s.labels },
    desired: { cupsUri: s.desired.cupsUri, tcUri: s.desired.tcUri, cupsCred: cred(s.desired.cupsCred), tcCred: cred(s.desired.tcCred) },
    reported: s.reported === null ? null : { ...s.reported, keys: [...s.reported.keys] },
    lastSeenAt: isoOrNull(s.lastSeenAt),
    lastRemoteAddress: s.lastRemoteAddress,
    problem: s.problem,
    firmware:
      f === null
        ? null
        : {
            package: f.package,
            size: f.size,
            sha256: f.sha256,
            keyCrcs: f.signatures.map((sig) => sig.keyCrc),
            state: f.state,
            offers: f.offers,
            maxOffers: f.maxOffers,
            fromPackage: f.fromPackage,
            requestedAt: iso(f.requestedAt),
            lastOfferedAt: isoOrNull(f.lastOfferedAt),
            upgradedAt: isoOrNull(f.upgradedAt),
            lastError: f.lastError,
          },
    syncState: syncState(s),
    pending: pendingParts(s),
    health: healthJson(s, health),
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

function healthJson(s: Station, reading: HealthReading) {
  const h = healthView(s.health, s.lastSeenAt, reading.now, reading.thresholds, s.reported === null || s.reported.tcUri !== null);
  return { state: h.state, reason: h.reason, since: isoOrNull(h.since), intervalMs: h.intervalMs, gapMs: h.gapMs, earlyRun: h.earlyRun };
}

export function eventJson(e: StationEvent) {
  return {
    id: e.id,
    eui: e.eui,
    at: iso(e.at),
    type: e.type,
    message: e.message,
    ...(e.detail === undefined ? {} : { detail: { ...e.detail } }),
    ...(e.count === undefined ? {} : { count: e.count }),
    ...(e.firstAt === undefined ? {} : { firstAt: iso(e.firstAt) }),
  };
}

export function summaryJson(s: FleetSummary & { readonly certificates?: CertificateLifetimes }) {
  const { certificates, ...rest } = s;
  return { ...rest, silentSince: iso(s.silentSince), byPackage: [...s.byPackage], byModel: [...s.byModel], compliance: s.compliance.map((m) => ({ ...m, states: { ...m.states } })), ...(certificates === undefined ? {} : { certificates: certificatesJson(certificates) }) };
}

export function certificatesJson(c: CertificateLifetimes) {
  const file = (f: CertificateFileLifetime | null) => (f === null ? null : { ...f, notAfter: f.notAfter === null ? null : iso(f.notAfter) });
  return {
    stations: { ...c.stations, expiringWithin: { ...c.stations.expiringWithin }, nextExpiry: c.stations.nextExpiry === null ? null : iso(c.stations.nextExpiry) },
    server: file(c.server),
    stationCa: file(c.stationCa),
  };
}

export function unknownJson(u: UnknownStation) {
  return { ...u, firstSeenAt: iso(u.firstSeenAt), lastSeenAt: iso(u.lastSeenAt), lastRequest: { ...u.lastRequest } };
}

export function signingKeyJson(k: SigningKey) {
  return { ...k, createdAt: iso(k.createdAt) };
}

export function apiKeyJson(k: ApiKeyInfo) {
  return { ...k, createdAt: iso(k.createdAt), expiresAt: isoOrNull(k.expiresAt), revokedAt: isoOrNull(k.revokedAt) };
}

export function auditJson(a: AuditEntry) {
  return { ...a, at: iso(a.at), detail: a.detail === null ? null : { ...a.detail } };
}
