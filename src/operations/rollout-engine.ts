import { DEFAULT_HEALTH, type HealthThresholds } from '../core/health.js';
import { isActive, ACTIVE_ROLLOUT_STATES, type Rollout, type RolloutMember } from '../core/rollout.js';
import { evaluateRollout, isEmptyStep, type RolloutStep } from '../core/rollout-gate.js';
import type { RevertPackage, TcCredentialRow } from '../core/rollout-revert.js';
import type { FleetStore, OperatorRollouts } from '../registry/index.js';
import { engineStepAudit } from './rollout-audit.js';
import { advanceRotation, type RotationDeps } from './rollout-rotation.js';
import { selectStations } from './rollout-selection.js';

export interface RolloutEngineDeps {
  readonly rollouts: OperatorRollouts;
  readonly fleet: FleetStore;
  readonly clock: () => Date;
  /** Needed by credential rotation rollouts only; without it their evaluation fails with rotation_unavailable. */
  readonly credentials?: RotationDeps;
  /**
   * Include-new scans, per rollout: the time from which the last committed scan
   * leaves stations to look at (see findJoiners). Kept in memory by the engine;
   * without it every evaluation scans the whole selection.
   */
  readonly joinWatermarks?: Map<string, number>;
  /** Overrides JOIN_SCAN_OVERLAP_MS (tests). */
  readonly joinScanOverlapMs?: number;
  /**
   * The server's health thresholds (default: the station's own): a reverted station
   * reports what it got back only at its next regular call, so a revert is waited for
   * at least its regular interval plus grace.
   */
  readonly health?: HealthThresholds;
}

/**
 * How far back of its own start a scan's watermark is set: a station stamped
 * by a slower clock (another replica) or by a transaction that commits after
 * the scan read is still found by the next scan. Scanning this window again is
 * cheap; joining is idempotent (members are skipped).
 */
export const JOIN_SCAN_OVERLAP_MS = 120_000;

export type AdvanceOutcome = 'idle' | 'advanced' | 'superseded';

/**
 * Evaluates one rollout and writes what is due.
 *
 * How this stays exactly-once across replicas: every `bscups serve` runs this
 * on its own timer, against the one shared database, with no coordinator. An
 * evaluation reads the rollout (at version v), its members and their stations,
 * decides a step in pure code (core/rollout-gate.ts), and writes the whole step
 * (wave started, members offered with their station's change, confirmations,
 * halt, events) in ONE transaction whose first statement is
 * `update rollouts set version = v + 1 … where id = ? and version = v`.
 * When two replicas decide on the same version, PostgreSQL makes the second
 * UPDATE wait for the first transaction's row lock and then re-check its WHERE
 * against the committed row: it matches nothing, the store returns false, and
 * the second replica's step (which would have started the same wave again) is
 * never written. SQLite serialises writers, with the same result. Since the
 * station changes ride in that transaction, a wave is started, and a station
 * offered, once per decision; a member row has one primary key per rollout, and
 * a station one claim row across active rollouts. A replica that dies
 * mid-evaluation has written nothing (the transaction rolls back), so any
 * replica continues from the last committed version. No lease to expire and no
 * advisory lock held across awaits; the cost is that replicas may evaluate the
 * same rollout in parallel and all but one discard their work, which is cheap
 * next to a poll interval measured in minutes.
 */
export async function advanceRollout(deps: RolloutEngineDeps, rollout: Rollout): Promise<AdvanceOutcome> {
  // A scheduled rollout is read no further until its time: nothing else about it can be due.
  if (rollout.state === 'scheduled' && rollout.plan.startAt !== undefined && deps.clock().getTime() < Date.parse(rollout.plan.startAt)) return 'idle';
  const store = deps.rollouts;
  const members = await store.listMembers(rollout.id);
  // An ended rollout is followed only while a failed member's revert is under way, or
  // (completed) while a report its health soak left due is awaited.
  const followed = (m: RolloutMember) => m.revert?.state === 'reverting' || (rollout.state === 'completed' && m.state === 'confirmed' && m.reportDue === true);
  if (!isActive(rollout.state) && !members.some(followed)) return 'idle';
  const models = rollout.change.kind === 'firmware' ? ((await store.getPackage(rollout.change.package))?.models ?? []) : [];
  const scan = rollout.plan.includeNew && rollout.state === 'running';
  const scanStart = deps.clock().getTime();
  const joiners = scan ? await findJoiners(deps, rollout, members, models, deps.joinWatermarks?.get(rollout.id)) : [];
  // A member its health soak confirmed before the station reported the change is watched until it reports (core/rollout-soak.ts).
  const watched = members.filter((m) => m.state === 'pending' || m.state === 'offered' || m.revert?.state === 'reverting' || (m.state === 'confirmed' && m.reportDue === true)).map((m) => m.eui);
  const observations = await store.observe([...watched, ...joiners]);
  const revertPackages = await previousPackages(store, rollout, members);
  const revertTcCredentials = await previousTcCredentials(store, rollout, members);
  const now = deps.clock();
  const health = deps.health ?? DEFAULT_HEALTH;
  const input = { rollout, members, observations, models, joiners, now, revertWaitMs: health.intervalMs + health.graceMs, ...(revertPackages === undefined ? {} : { revertPackages }), ...(revertTcCredentials === undefined ? {} : { revertTcCredentials }) };
  let outcome: AdvanceOutcome;
  let step: RolloutStep;
  if (rollout.change.kind === 'credentials') ({ outcome, step } = await advanceRotation(deps, input));
  else {
    step = evaluateRollout(input);
    outcome = isEmptyStep(step) ? 'idle' : (await store.applyStep(rollout, step, now, undefined, engineStepAudit(rollout, step, now))) ? 'advanced' : 'superseded';
  }
  // Joiners not written (a superseded or failed step, or one that halted before taking
  // them in) are found again only if the next scan looks from the same point.
  const joined = new Set(step.members.filter((m) => m.joined === true).map((m) => m.eui));
  if (scan && outcome !== 'superseded' && joiners.every((eui) => joined.has(eui))) {
    deps.joinWatermarks?.set(rollout.id, scanStart - (deps.joinScanOverlapMs ?? JOIN_SCAN_OVERLAP_MS));
  }
  return outcome;
}

/**
 * A firmware rollout that reverts: the library entries of the packages its
 * offered members had before (what a failed member is offered back), read
 * before the pure evaluation decides.
 */
async function previousPackages(store: OperatorRollouts, rollout: Rollout, members: readonly RolloutMember[]): Promise<Map<string, RevertPackage | null> | undefined> {
  if (rollout.change.kind !== 'firmware' || rollout.plan.revertUnhealthy !== true) return undefined;
  const wanted = new Set<string>();
  for (const m of members) if (m.state === 'offered' && m.previous !== null && m.previous.package !== null) wanted.add(m.previous.package);
  const out = new Map<string, RevertPackage | null>();
  for (const pkg of wanted) {
    const entry = await store.getPackage(pkg);
    out.set(pkg, entry === undefined ? null : { package: entry.package, keyCrcs: entry.signatures.map((s) => s.keyCrc), models: entry.models });
  }
  return out;
}

/**
 * A TC credential rotation that reverts: the TC certificates and tokens of its
 * offered members and of those whose report is due (which may still fail), so a
 * revert is refused, not written, when what it would give back is revoked or expired.
 */
async function previousTcCredentials(store: OperatorRollouts, rollout: Rollout, members: readonly RolloutMember[]): Promise<Map<string, TcCredentialRow[]> | undefined> {
  if (rollout.change.kind !== 'credentials' || rollout.plan.revertUnhealthy !== true) return undefined;
  const euis = members.filter((m) => (m.state === 'offered' || (m.state === 'confirmed' && m.reportDue === true)) && m.previous?.tcCred != null).map((m) => m.eui);
  return euis.length === 0 ? new Map() : store.tcCredentials(euis);
}

/**
 * Stations that match the selector now, are not members, and no active rollout
 * holds. After a first full scan, only stations changed since `since` are read:
 * a station that registers, is relabelled or reports something new (its first
 * report included) gets a newer updated_at or reported_at, and those are the
 * ways a station comes to match. A station that matched all along but was held
 * by another rollout when scanned is not looked at again until it changes.
 */
async function findJoiners(deps: RolloutEngineDeps, rollout: Rollout, members: readonly RolloutMember[], models: readonly string[], since: number | undefined): Promise<string[]> {
  const known = new Set(members.map((m) => m.eui));
  const selected = await selectStations(deps.fleet, rollout.selector, since === undefined ? undefined : new Date(since));
  // A station joins once it has been seen (a never-seen member is skipped: core/rollout-gate.ts
  // eligibility), and with models declared once it has reported one: its first report either way.
  const candidates = selected.filter((s) => !known.has(s.eui) && s.lastSeenAt !== null && (models.length === 0 || s.reported !== null));
  if (candidates.length === 0) return [];
  const held = await deps.rollouts.claims(candidates.map((s) => s.eui));
  return candidates.filter((s) => !held.has(s.eui)).map((s) => s.eui);
}

/** One pass over every active rollout; a failure of one is reported and does not stop the others. */
export async function advanceRollouts(deps: RolloutEngineDeps, onError: (rollout: string, e: unknown) => void): Promise<Record<AdvanceOutcome, number>> {
  const counts: Record<AdvanceOutcome, number> = { idle: 0, advanced: 0, superseded: 0 };
  const listed = [
    ...(await deps.rollouts.listRollouts(ACTIVE_ROLLOUT_STATES)),
    // Ended rollouts still followed: a report a health soak left due, a revert under way.
    ...((await deps.rollouts.listRolloutsWithReportsDue?.()) ?? []),
    ...(await deps.rollouts.listSettlingRollouts()),
  ];
  const active = [...new Map(listed.map((r) => [r.id, r])).values()];
  const ids = new Set(active.map((r) => r.id));
  for (const id of deps.joinWatermarks?.keys() ?? []) if (!ids.has(id)) deps.joinWatermarks?.delete(id);
  for (const rollout of active) {
    try {
      counts[await advanceRollout(deps, rollout)] += 1;
    } catch (e) {
      onError(rollout.id, e);
    }
  }
  return counts;
}

export interface RolloutEngine {
  /** Evaluate soon (after an operator change), without waiting for the next interval. */
  nudge(): void;
  stop(): Promise<void>;
}

/**
 * Runs advanceRollouts every `intervalMs` (one pass at a time) in a server.
 * Failures are logged; the next pass retries from what is committed.
 */
export function startRolloutEngine(
  deps: RolloutEngineDeps,
  logger: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void },
  intervalMs: number,
): RolloutEngine {
  deps = { ...deps, joinWatermarks: deps.joinWatermarks ?? new Map() };
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = advanceRollouts(deps, (rollout, e) => logger.warn({ err: e, rollout }, 'rollout evaluation failed; retrying at the next pass'))
      .then((c) => {
        if (c.advanced > 0) logger.info({ ...c }, 'rollouts advanced');
      })
      .catch((e: unknown) => logger.warn({ err: e }, 'rollout pass failed; retrying at the next one'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  run();
  return {
    nudge: run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
