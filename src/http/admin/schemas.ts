import { HEALTH_STATES } from '../../core/health.js';
import { COMPLIANCE_STATES } from '../../core/compliance.js';
import { z } from 'zod';
import { SYNC_STATES } from '../../core/sync-status.js';
import { ROLES } from '../../core/roles.js';
import { EXPIRY_WINDOWS } from '../../registry/certificates/expiry-types.js';

// Every request and response shape of the admin API, declared once: Fastify
// validates with them and @fastify/swagger publishes them in the OpenAPI document.
// Registered with ids so the document names them as components.

const time = z.string().describe('ISO 8601 time');
const nullableTime = time.nullable();

/** A query parameter that may repeat: one value arrives as a string, several as an array. */
export const repeated = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]));

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().describe('stable snake_case identifier'),
      kind: z.enum(['invalid_argument', 'unauthenticated', 'permission_denied', 'not_found', 'conflict', 'unavailable', 'internal']),
      message: z.string().describe('what went wrong and what to do'),
    }),
  })
  .meta({ id: 'Error' });

export const Credential = z.object({ crc: z.number().int().describe('CRC-32 the station reports once applied'), size: z.number().int() }).meta({ id: 'CredentialRef' });

export const Station = z
  .object({
    eui: z.string().describe('16 uppercase hex digits'),
    id6: z.string(),
    name: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    desired: z.object({
      cupsUri: z.string().nullable(),
      tcUri: z.string().nullable(),
      cupsCred: Credential.nullable(),
      tcCred: Credential.nullable(),
    }),
    reported: z
      .object({
        cupsUri: z.string().nullable(),
        tcUri: z.string().nullable(),
        cupsCredCrc: z.number().int(),
        tcCredCrc: z.number().int(),
        station: z.string(),
        model: z.string(),
        package: z.string().nullable(),
        keys: z.array(z.number().int()),
      })
      .nullable(),
    lastSeenAt: nullableTime,
    lastRemoteAddress: z.string().nullable(),
    problem: z.string().nullable(),
    health: z
      .object({
        state: z.enum(HEALTH_STATES).describe('from the rhythm of its CUPS calls: healthy means no sign of failure, not proof that it works'),
        reason: z.string().describe('the state in words, e.g. "calls CUPS every 7.5 min since 12:04 UTC: its LNS connection is failing"'),
        since: nullableTime,
        intervalMs: z.number().describe('its regular interval between CUPS calls, learned from its own history'),
        gapMs: z.number().nullable().describe('the time between the calls that decided the state (a failing station\'s beat)'),
        earlyRun: z.number().int().describe('early calls in a row'),
      })
      .meta({ id: 'StationHealth' }),
    firmware: z
      .object({
        package: z.string(),
        size: z.number().int(),
        sha256: z.string(),
        keyCrcs: z.array(z.number().int()),
        state: z.enum(['pending', 'offered', 'upgraded', 'failed']),
        offers: z.number().int(),
        maxOffers: z.number().int(),
        fromPackage: z.string().nullable(),
        requestedAt: time,
        lastOfferedAt: nullableTime,
        upgradedAt: nullableTime,
        lastError: z.string().nullable(),
      })
      .nullable(),
    syncState: z.enum(SYNC_STATES),
    pending: z.array(z.string()).describe('what the station still has to receive'),
    createdAt: time,
    updatedAt: time,
  })
  .meta({ id: 'Station' });

const labelKey = z.string().regex(/^[A-Za-z0-9_.\-/]{1,63}$/);

export const StationCreate = z
  .object({
    eui: z.string().describe('EUI: 16 hex digits, ID6 or byte groups'),
    name: z.string().max(200).nullable().optional(),
    labels: z.record(labelKey, z.string().min(1).max(256)).optional(),
    cupsUri: z.string().nullable().optional().describe('https://host:port, no path'),
    tcUri: z.string().nullable().optional().describe('wss://host:port, no path'),
  })
  .strict()
  .meta({ id: 'StationCreate' });

export const StationPatch = z
  .object({
    name: z.string().max(200).nullable().optional(),
    labels: z.record(labelKey, z.string().min(1).max(256).nullable()).optional().describe('merged; null removes a label'),
    cupsUri: z.string().nullable().optional(),
    tcUri: z.string().nullable().optional(),
    force: z.boolean().optional().describe('change a URI although an active rollout of that URI holds the station; the rollout records it as changed outside it'),
    revertUnhealthy: z.boolean().optional().describe('with tcUri: if the station\'s health turns lns_failing once it has the new TC URI, the one it had before is put back at its next exchange (audited, in its events)'),
  })
  .strict()
  .meta({ id: 'StationPatch' });

const limit = z.coerce.number().int().min(1).max(1000).optional().describe('page size, default 50');
const cursor = z.string().optional().describe('nextCursor of the previous page');

export const StationListQuery = z.object({
  label: repeated.describe('k=v, k!=v, k (exists) or !k (absent); repeat to combine'),
  state: repeated.describe(`sync state, any of: ${SYNC_STATES.join(', ')} (repeat or comma-separate)`),
  silent: z.string().optional().describe('seen, but not for longer than this, e.g. 26h or 7d'),
  health: repeated.describe(`gateway health, any of: ${HEALTH_STATES.join(', ')} (repeat or comma-separate)`),
  model: z.string().optional(),
  package: z.string().optional(),
  version: z.string().optional().describe('prefix of the reported station version'),
  q: z.string().optional().describe('substring of EUI or name'),
  certExpiring: z.string().optional().describe('stations whose CUPS client certificate expires within this, e.g. 30d (expired ones included)'),
  compliance: repeated.describe(`firmware compliance against the newest library package for the station's model, any of: ${COMPLIANCE_STATES.join(', ')} (repeat or comma-separate)`),
  sort: z.enum(['eui', 'name', 'lastSeen']).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit,
  cursor,
});

export const StationCountQuery = StationListQuery.omit({ sort: true, order: true, limit: true, cursor: true });
export const StationCount = z.object({ total: z.number().int().describe('stations matching every filter given') }).meta({ id: 'StationCount' });

export const StationLabelsBulk = z
  .object({
    filter: StationCountQuery.describe('the filters of GET /stations: every station they match is changed'),
    set: z.record(labelKey, z.string().min(1).max(256)).optional().describe('labels to set (merged: other labels stay)'),
    remove: z.array(labelKey).optional().describe('label keys to remove'),
  })
  .strict()
  .meta({ id: 'StationLabelsBulk' });
export const StationLabelsBulkResult = z.object({ stations: z.number().int().describe('stations changed') }).meta({ id: 'StationLabelsBulkResult' });

export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).meta({ id });
}

export const EuiParams = z.object({ eui: z.string().describe('station EUI') });

export const Event = z
  .object({
    id: z.number().int(),
    eui: z.string(),
    at: time,
    type: z.string(),
    message: z.string(),
    detail: z.record(z.string(), z.unknown()).optional(),
    count: z.number().int().optional().describe('a coalesced row (repeated refusals): how many requests it stands for'),
    firstAt: time.optional().describe('a coalesced row: its first occurrence (at is the last)'),
  })
  .meta({ id: 'Event' });

export const EventQuery = z.object({
  type: repeated.describe('event types (repeat or comma-separate)'),
  since: z.string().optional().describe('ISO 8601, inclusive'),
  until: z.string().optional().describe('ISO 8601, exclusive'),
  limit,
  cursor,
});

export const FleetEventQuery = EventQuery.extend({ eui: z.string().optional() });

export const UnknownStationQuery = z.object({ limit, cursor });
const certificateFile = z
  .object({
    file: z.string(),
    subject: z.string().nullable(),
    fingerprint: z.string().nullable(),
    notAfter: time.nullable(),
    error: z.string().nullable().describe('why the file could not be read'),
  })
  .nullable();

export const CertificateLifetimes = z
  .object({
    stations: z.object({
      stations: z.number().int().describe('stations with an active CUPS client certificate'),
      expired: z.number().int().describe('of those, stations whose certificate has expired'),
      expiringWithin: z.record(z.enum(EXPIRY_WINDOWS), z.number().int()).describe('stations whose certificate expires within 7, 30 and 90 days, not yet expired (cumulative)'),
      nextExpiry: time.nullable(),
    }),
    server: certificateFile.describe('the station listener certificate, null when serving plain HTTP'),
    stationCa: certificateFile.describe('the station CA (ca.pem of the PKI folder), null when there is none'),
  })
  .meta({ id: 'CertificateLifetimes' });

const countBy = z.array(z.object({ value: z.string().nullable(), count: z.number().int() }));

export const ModelCompliance = z
  .object({
    model: z.string().nullable().describe('reported model; null: stations never seen'),
    newest: z.string().nullable().describe('the newest library package built for the model (highest semantic version, or the last uploaded when some are not semantic versions); null: none'),
    stations: z.number().int(),
    states: z.record(z.enum(COMPLIANCE_STATES), z.number().int()).describe('latest: on the newest; behind: could have it, nothing under way; in_progress: a firmware target or an active firmware rollout is bringing a package; ahead: a higher semantic version than the newest; no_package: the library has none for the model; unknown: never seen'),
  })
  .meta({ id: 'ModelCompliance' });

export const StationCompliance = z
  .object({
    eui: z.string(),
    state: z.enum(COMPLIANCE_STATES).describe('against the newest library package built for the model the station reports'),
    newest: z.string().nullable().describe('the newest library package for its model: what a station behind could have; null: none (no_package, unknown)'),
  })
  .meta({ id: 'StationCompliance' });

export const FleetSummary = z
  .object({
    total: z.number().int(),
    byState: z.record(z.enum(SYNC_STATES), z.number().int()),
    silent: z.number().int(),
    silentSince: time,
    byPackage: countBy,
    byModel: countBy,
    upgrades: z.record(z.enum(['pending', 'offered', 'upgraded', 'failed']), z.number().int()),
    byHealth: z.record(z.enum(HEALTH_STATES), z.number().int()).describe('stations by gateway health (silent by each station\'s own interval plus the grace)'),
    compliance: z.array(ModelCompliance).describe('firmware compliance per model: models the library has a package for first, then models it has none for, then stations never seen (model null)'),
    certificates: CertificateLifetimes.optional(),
  })
  .meta({ id: 'FleetSummary' });

export const SummaryQuery = z.object({ silentAfter: z.string().optional().describe('silence threshold, default 26h') });

export const UnknownStation = z
  .object({
    eui: z.string(),
    firstSeenAt: time,
    lastSeenAt: time,
    count: z.number().int(),
    lastRemoteAddress: z.string().nullable(),
    lastRequest: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'UnknownStation' });

export const SigningKey = z
  .object({ crc: z.number().int(), publicKey: z.string(), name: z.string().nullable(), createdAt: time })
  .meta({ id: 'SigningKey' });

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    createdAt: time,
    createdBy: z.string().nullable(),
    expiresAt: nullableTime,
    revokedAt: nullableTime,
  })
  .meta({ id: 'ApiKey' });

export const ApiKeyCreate = z
  .object({
    name: z.string().min(1).max(100),
    role: z.enum(ROLES),
    expires: z.string().optional().describe('duration from now (90d) or ISO 8601 time'),
  })
  .strict()
  .meta({ id: 'ApiKeyCreate' });

export const ApiKeyCreated = z
  .object({ key: ApiKey, secret: z.string().describe('the whole key: shown once, only its hash is stored') })
  .meta({ id: 'ApiKeyCreated' });

export const IdParams = z.object({ id: z.string() });

export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: time,
    actor: z.string(),
    actorKeyId: z.string().nullable(),
    role: z.enum(ROLES),
    via: z.string(),
    remoteAddress: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditEntry' });

export const AuditQuery = z.object({
  action: z.string().optional(),
  actor: z.string().optional(),
  target: z.string().optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  limit,
  cursor,
});

export const Removed = z.object({ eui: z.string(), blobsDeleted: z.number().int() }).meta({ id: 'StationRemoved' });
