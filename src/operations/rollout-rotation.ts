import type { BlobStore } from '../blobs/types.js';
import { conflict, isCupsError, unavailable } from '../core/errors.js';
import { evaluateRollout, isEmptyStep, type GateInput, type PreparedRotation, type RolloutStep } from '../core/rollout-gate.js';
import type { CredentialPlan } from '../registry/auth-types.js';
import type { RolloutStore, Station, StationRegistry } from '../registry/index.js';
import { credentialPlan, deleteReplaced, dropUnreferenced, type CredentialDeps } from './credential-delivery.js';
import type { StationCa } from './credential-rotate.js';
import { prepareRotation, type PreparedCredentials } from './credentials.js';
import { engineStepAudit } from './rollout-audit.js';

/** What a server needs to run credential rotation rollouts. */
export interface RotationDeps {
  readonly registry: StationRegistry;
  readonly blobs: BlobStore;
  /** The station CA, read at each use so a renewed CA (or one created after start) is taken up. */
  readonly stationCa: () => Promise<StationCa>;
}

/** A station that cannot be given a new credential for one of these reasons is skipped; any other failure fails the pass. */
const REFUSALS = new Set(['nothing_to_rotate', 'station_not_found']);
/** Failures of this server's set-up (its station CA), which halt the rollout. */
const SETUP = new Set(['rotation_unavailable', 'pki_not_found', 'invalid_ca', 'missing_ca', 'unreadable_file']);
const PARALLEL = 4;

/**
 * Evaluates a credential rotation rollout and writes its step. Enrolling a
 * station is a rotation through the credential operations: a new certificate
 * or token of the kind the station uses, issued under the station CA. Issuing
 * (and storing the blob) is slow and cannot run inside the step's transaction,
 * so the gate is run, the stations it offers are prepared, and the gate is run
 * again knowing them (a station that cannot be rotated is skipped, which may
 * move the gate on to offer others) until every offer is prepared. The step
 * then commits with each rotation (credentials registered, made desired,
 * rotation started) in its one guarded transaction, so a rotation exists if and
 * only if its offer does. Blobs of a step that was superseded or failed are
 * removed; a crash leaves them for `bscups blobs gc`.
 */
export async function advanceRotation(
  deps: { readonly rollouts: RolloutStore; readonly clock: () => Date; readonly credentials?: RotationDeps },
  input: GateInput,
): Promise<{ readonly outcome: 'idle' | 'advanced' | 'superseded'; readonly step: RolloutStep }> {
  const { rollout } = input;
  if (rollout.change.kind !== 'credentials') throw new Error('advanceRotation: not a credential rotation');
  const categories = rollout.change.categories;
  const creds = deps.credentials;
  const prepared = new Map<string, PreparedRotation>();
  const ready = new Map<string, PreparedCredentials>();
  const committed = new Set<string>();
  try {
    for (;;) {
      const step = evaluateRollout({ ...input, prepared });
      const missing = step.members.filter((m) => m.offer !== undefined && !prepared.has(m.eui)).map((m) => m.eui);
      if (missing.length === 0) {
        if (isEmptyStep(step)) return { outcome: 'idle', step };
        const replaced: { eui: string; before: Station }[] = [];
        const plans = new Map<string, CredentialPlan<unknown>>();
        for (const m of step.members) {
          const p = m.offer === undefined ? undefined : ready.get(m.eui);
          if (p === undefined) continue;
          // What the offer records as the TC credential to give back must be what this transaction replaces
          // (an operator may have set another while the credentials were issued): else decided again.
          const kept = m.offer?.previous.tcCred;
          const guard = kept === undefined ? undefined : (current: { readonly station: Station }) => {
            if ((current.station.desired.tcCred?.blob ?? null) !== (kept?.blob ?? null)) {
              throw conflict('station_changed', `station ${m.eui}'s TC credential changed while rollout ${rollout.id} issued its new one; nothing was written, decided again at the next evaluation`);
            }
          };
          const plan = credentialPlan(p.deliveries, p.delivered, guard);
          plans.set(m.eui, (current) => {
            replaced.push({ eui: m.eui, before: current.station });
            return plan(current);
          });
        }
        if (!(await deps.rollouts.applyStep(rollout, step, input.now, plans, engineStepAudit(rollout, step, input.now)))) return { outcome: 'superseded', step };
        // A rollout that reverts keeps the TC credential it replaced: a failed member gets it back (its offer
        // recorded it, and `blobs gc` leaves it while a revert may need it).
        const keep = rollout.plan.revertUnhealthy === true ? new Set(['tc']) : new Set<string>();
        for (const { eui, before } of replaced) {
          committed.add(eui);
          const gone = (ready.get(eui) as PreparedCredentials).delivered.filter((d) => !keep.has(d.category));
          await deleteReplaced(creds as RotationDeps, before, gone).catch(() => undefined);
        }
        return { outcome: 'advanced', step };
      }
      try {
        if (creds === undefined) throw unavailable('rotation_unavailable', `rollout ${rollout.id} rotates credentials, which needs the station CA; this process was started without it`);
        const ca = await creds.stationCa();
        const credDeps: CredentialDeps = { registry: creds.registry, blobs: creds.blobs, clock: deps.clock };
        await inParallel(missing, async (eui) => {
          try {
            const p = await prepareRotation(credDeps, { eui, categories, ...ca });
            ready.set(eui, p);
            prepared.set(eui, { crcs: Object.fromEntries(p.delivered.map((d) => [d.category, d.ref.crc])) });
          } catch (e) {
            if (!isCupsError(e) || !REFUSALS.has(e.code)) throw e;
            prepared.set(eui, { refused: e.message });
          }
        });
      } catch (e) {
        // A server that cannot issue at all needs its operator, not another try every
        // interval: the rollout halts with the reason and continues when resumed.
        if (!isCupsError(e) || !SETUP.has(e.code) || rollout.state !== 'running') throw e;
        const reason = `cannot issue credentials: ${e.message}`;
        const halt: RolloutStep = { members: [], rollout: { state: 'halted', haltReason: reason }, events: [{ type: 'halted', message: `halted: ${reason}` }] };
        return { outcome: (await deps.rollouts.applyStep(rollout, halt, input.now, undefined, engineStepAudit(rollout, halt, input.now))) ? 'advanced' : 'superseded', step: halt };
      }
    }
  } finally {
    // Prepared but not committed (superseded, failed, or no longer offered): nothing refers to these blobs.
    for (const [eui, p] of ready) {
      if (committed.has(eui) || creds === undefined) continue;
      await dropUnreferenced({ registry: creds.registry, blobs: creds.blobs, clock: deps.clock }, eui, p.delivered);
    }
  }
}

async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  // Every worker ends before this returns, so the caller's cleanup sees all it prepared.
  const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
