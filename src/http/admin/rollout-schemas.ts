import { z } from 'zod';
import { MEMBER_STATES, REVERT_STATES, ROLLOUT_STATES } from '../../core/rollout.js';
import { pageOf, repeated } from './schemas.js';

// Request and response shapes of the firmware library and rollout routes, declared
// once: Fastify validates with them and the OpenAPI document publishes them.

const time = z.string().describe('ISO 8601 time');

export const FirmwarePackage = z
  .object({
    package: z.string().describe('the version the update writes into version.txt'),
    size: z.number().int(),
    sha256: z.string(),
    keyCrcs: z.array(z.number().int()).describe('CRCs of the sig-N.key files that verify its signatures'),
    models: z.array(z.string()).describe('station models it is built for; empty: any'),
    createdBy: z.string(),
    createdAt: time,
  })
  .meta({ id: 'FirmwarePackage' });

export const FirmwarePackageUploaded = FirmwarePackage.extend({
  uploaded: z.boolean().describe('false when the same bytes were already stored (and verified again)'),
}).meta({ id: 'FirmwarePackageUploaded' });

export const FirmwarePackageDetail = FirmwarePackage.extend({
  use: z
    .object({
      stations: z.array(z.string()),
      rollouts: z.array(z.string()),
      failed: z.array(z.object({ eui: z.string(), lastError: z.string().nullable() })).optional().describe('targets that failed, with why (a stored update whose bytes are not the upload\'s says so); at most 20'),
    })
    .describe('what refers to it; removal is refused while anything does'),
}).meta({ id: 'FirmwarePackageDetail' });

export const PackageParams = z.object({ package: z.string() });

export const PackageUploadQuery = z.object({
  keyCrc: repeated.describe('CRC of the key that verifies the signature at the same position'),
  signature: repeated.describe('DER signature (openssl dgst -sha512 -sign), base64'),
  model: repeated.describe('station model the update is built for; repeatable'),
  publicKey: repeated.describe('sig-N.key (128 hex digits) for a keyCrc not registered'),
  sha256: z.string().optional().describe('SHA-256 of the body (64 hex digits): names the stored file, so bytes already stored are not stored twice; a body with another hash stores nothing'),
});

export const PackageTarget = z
  .object({
    stations: z.array(z.string()).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    maxOffers: z.number().int().min(1).max(1000).optional(),
    allowDowngrade: z.boolean().optional(),
  })
  .meta({ id: 'PackageTarget' });

export const PackageTargeted = z.object({ package: z.string(), stations: z.array(z.string()) }).meta({ id: 'PackageTargeted' });
export const PackageRemoved = z.object({ package: z.string(), blobDeleted: z.boolean() }).meta({ id: 'PackageRemoved' });

export const RolloutCreate = z
  .object({
    name: z.string().max(200).optional(),
    firmware: z.string().optional().describe('library package to install'),
    tcUri: z.string().optional().describe('desired TC (LNS) URI'),
    cupsUri: z.string().optional().describe('desired CUPS URI'),
    rotate: z.enum(['cups', 'tc', 'both']).optional().describe('rotate credentials: a new certificate or token (the kind each station uses) under the station CA'),
    allowDowngrade: z.boolean().optional(),
    maxOffers: z.number().int().min(1).max(1000).optional(),
    label: z.array(z.string()).optional().describe('k=v, k!=v, k (exists), !k (absent); all must hold'),
    model: z.string().optional(),
    package: z.string().optional().describe('currently reported package'),
    version: z.string().optional().describe('prefix of the reported station version'),
    station: z.array(z.string()).optional().describe('explicit EUIs'),
    waves: z.string().optional().describe('cumulative counts or percentages, default 1,5%,25%,100%'),
    successThreshold: z.string().optional().describe('share of a wave that must confirm, e.g. 95%; default 100%'),
    failureBudget: z.string().optional().describe('failures (count or %) before the rollout halts; default 0'),
    deadline: z.string().optional().describe('per-station time to confirm, e.g. 26h'),
    soak: z.string().optional().describe('wait after a wave passes, e.g. 1h'),
    healthSoak: z.string().optional().describe('per-station health soak after the change is delivered, e.g. 30m; 0 turns it off; default 30m for TC URI, TC credential and firmware rollouts'),
    includeNew: z.boolean().optional().describe('stations matching later join the current wave'),
    startAt: z.string().optional().describe('start later: an ISO 8601 time with its offset (2026-12-08T02:00+01:00) or a duration from now (2h); the rollout is scheduled until then'),
    window: z.array(z.string()).optional().describe('time windows, e.g. "Mon-Fri 01:00-05:00 Europe/Berlin": offers are made only while one is open'),
    revertUnhealthy: z.boolean().optional().describe('a station that fails gets back what it had before (its TC URI, its TC credential, or its previous package when in the library and signed for its keys) at its next exchange; default true for TC URI and TC credential rollouts, false otherwise; refused for CUPS URI and CUPS credential changes'),
    maxOffersPerMinute: z.number().int().min(1).max(100_000).optional().describe('at most this many offers in any minute, this rollout across every server; default unpaced'),
    requireApproval: z.boolean().optional().describe('wait in waiting_for_approval until an operator other than the creator approves (the server may require it for every rollout)'),
    pauseAfterWave: z.boolean().optional().describe('pause after each wave passes its gate, until resumed'),
  })
  .meta({ id: 'RolloutCreate' });

export const WindowMiss = z
  .object({
    eui: z.string(),
    lastCallAt: time,
    intervalMs: z.number().describe('the interval between its regular calls, learned from its health record'),
    usualCallTime: z.string().describe('HH:MM in the zone of the first window'),
    zone: z.string(),
  })
  .meta({ id: 'RolloutWindowMiss' });

const Counts = {
  ...(Object.fromEntries(MEMBER_STATES.map((s) => [s, z.number().int()])) as Record<(typeof MEMBER_STATES)[number], z.ZodNumber>),
  soaking: z.number().int().describe('offered members whose change was delivered and whose health soak runs (counted in offered too)'),
};

export const Rollout = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    change: z.record(z.string(), z.unknown()).describe('kind firmware (package), tcUri or cupsUri (uri), or credentials (categories)'),
    selector: z.record(z.string(), z.unknown()),
    plan: z.record(z.string(), z.unknown()),
    state: z.enum(ROLLOUT_STATES),
    stateText: z.string().describe('the state in words, e.g. "denied by bob", "paused after wave 2 of 4 (resume to go on)"'),
    approval: z
      .object({ decision: z.enum(['approved', 'denied']), by: z.string(), at: time })
      .nullable()
      .describe('how a rollout that waited for approval was decided; null until then'),
    createdByKeyId: z.string().nullable().describe("the API key that created it (an approval must come from another); null when created locally"),
    pacing: z
      .object({
        maxOffersPerMinute: z.number().int().nullable().describe("this rollout's offers per minute at most; null: unpaced"),
        maxConcurrentDownloads: z.number().int().nullable().describe("the server's cap on firmware downloads in flight (serve --max-concurrent-downloads); null: none, or not known (the CLI without --server)"),
        downloadsInFlight: z.number().int().nullable().describe('firmware downloads this server streams now; null where not known'),
      })
      .describe('pacing in force'),
    wave: z.number().int().describe('wave in progress, 1-based; 0 before the first'),
    waves: z.array(z.object({ wave: z.number().int(), stations: z.number().int(), ...Counts })),
    totals: z.object(Counts),
    failuresAllowed: z.number().int(),
    gate: z.string().describe('what the rollout waits for now'),
    haltReason: z.string().nullable(),
    eta: time.nullable(),
    startAt: time.nullable().describe('when a scheduled rollout starts (or started); null: at creation'),
    windows: z.array(z.string()).describe('time windows offers are made in; empty: any time'),
    outsideWindows: z
      .object({ count: z.number().int(), members: z.array(WindowMiss).describe('the first 100 by EUI') })
      .optional()
      .describe('one rollout read with time windows: pending members whose daily calls fall outside every window, so they are not offered unless they call early'),
    etaNote: z.string().describe('what the ETA rests on: a change reaches a healthy station at its next regular check'),
    warnings: z.array(z.string()).optional().describe('on creation: what the operator should know (a deadline shorter than a healthy station needs)'),
    rollbackOf: z.string().nullable(),
    reverts: z
      .object({ reverting: z.number().int(), reverted: z.number().int(), refused: z.number().int() })
      .optional()
      .describe('failed stations given back what they had before: being reverted (until the station reports it), reverted, or refused (the rollout halted); in a single rollout, not in listings'),
    createdBy: z.string(),
    createdAt: time,
    updatedAt: time,
  })
  .meta({ id: 'Rollout' });

export const RolloutPage = pageOf(Rollout, 'RolloutPage');

export const RolloutMember = z
  .object({
    eui: z.string(),
    wave: z.number().int(),
    state: z.enum(MEMBER_STATES),
    reason: z.string().nullable(),
    offeredAt: time.nullable(),
    deadlineAt: time.nullable(),
    doneAt: time.nullable(),
    revert: z
      .object({ state: z.enum(REVERT_STATES), reason: z.string(), at: time, doneAt: time.nullable() })
      .nullable()
      .optional()
      .describe('a failed station\'s automatic revert: reverting (set back, delivered at its next exchange), reverted (it reports what it had before), refused (why not)'),
  })
  .meta({ id: 'RolloutMember' });
export const RolloutMemberPage = pageOf(RolloutMember, 'RolloutMemberPage');

export const RolloutEvent = z
  .object({ id: z.number().int(), at: time, type: z.string(), wave: z.number().int().nullable(), eui: z.string().nullable(), message: z.string() })
  .meta({ id: 'RolloutEvent' });
export const RolloutEventPage = pageOf(RolloutEvent, 'RolloutEventPage');

const limit = (dflt: number) => z.coerce.number().int().min(1).max(1000).optional().describe(`page size, default ${dflt}`);
const cursor = z.string().optional().describe('nextCursor of the previous page');

export const RolloutListQuery = z.object({ state: repeated.describe('only rollouts in these states (repeat or comma-separate)'), limit: limit(50), cursor });
export const RolloutMemberQuery = z.object({
  state: repeated.describe(`only members in these states (repeat or comma-separate): ${MEMBER_STATES.join(', ')}; failed includes the lost`),
  wave: z.coerce.number().int().min(1).optional().describe('only members of this wave'),
  limit: limit(100),
  cursor,
});
export const RolloutEventQuery = z.object({
  type: repeated.describe('only events of these types (repeat or comma-separate)'),
  order: z.enum(['asc', 'desc']).optional().describe('asc: oldest first (default); desc: newest first'),
  limit: limit(100),
  cursor,
});
export const RolloutParams = z.object({ id: z.string() });
export const RollbackBody = z.object({ allowDowngrade: z.boolean().optional() }).meta({ id: 'RollbackRequest' });
export const RollbackResult = z
  .object({
    rollout: z.string(),
    reverted: z.number().int(),
    skipped: z.array(z.object({ eui: z.string(), reason: z.string() })).meta({ description: 'URI rollouts: stations left as they are, since their desired URI changed after the rollout set it' }),
    rollouts: z.array(z.string()),
  })
  .meta({ id: 'RollbackResult' });

export const RetryBody = z
  .object({ station: z.array(z.string()).optional().describe('only these failed members; default every failed member') })
  .meta({ id: 'RetryRequest' });
export const RetryResult = Rollout.extend({
  retried: z.array(z.string()).describe('members offered the change again at the next evaluation'),
  skipped: z.array(z.object({ eui: z.string(), reason: z.string() })).describe('failed members left failed (another active rollout holds them now)'),
}).meta({ id: 'RetryResult' });
