import { randomBytes } from 'node:crypto';
import { parseDuration } from '../core/duration.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import {
  defaultHealthSoakMs,
  describeChange,
  healthSoakOf,
  isActive,
  soakRefusal,
  MEMBER_STATES,
  parseAmount,
  parseThreshold,
  parseWaves,
  revertsByDefault,
  revertRefusal,
  ROLLOUT_STATES,
  waveOf,
  waveSizes,
  type MemberState,
  type Rollout,
  type RolloutChange,
  type PreviousConfig,
  type RolloutMember,
  type RolloutPlan,
  type RolloutSelector,
  type RolloutState,
  type RevertState,
} from '../core/rollout.js';
import type { MemberChange, RolloutEvent, RolloutStep } from '../core/rollout-gate.js';
import { rolloutProgress, rolloutProgressFromCounts, type RolloutProgress } from '../core/rollout-progress.js';
import { parseEui, validateCupsUri, validateTcUri } from '../protocol/index.js';
import type { NewAuditEntry, Page, RolloutEventRecord } from '../registry/index.js';
import { approverIdentity } from '../core/rollout.js';
import { audited, authorize, healthOf } from './context.js';
import { spoken } from '../core/health-reason.js';
import { requirePackage, type RolloutContext } from './firmware-library.js';
import { selectStations } from './rollout-selection.js';
import { parseLabelSelector } from './station-filters.js';
import { withdrawUnfetched } from '../core/rollout-withdraw.js';
import { parseStartAt, parseWindow, planWindows, windowMisses, type WindowMiss } from '../core/rollout-schedule.js';

/** A rollout as adapters receive it: strings as typed in flags or JSON. */
export interface RolloutInput {
  readonly name?: string;
  /** Exactly one of firmware (a library package), tcUri, cupsUri. */
  readonly firmware?: string;
  readonly tcUri?: string;
  readonly cupsUri?: string;
  /** Credential rotation: `cups`, `tc` or `both`. */
  readonly rotate?: string;
  readonly allowDowngrade?: boolean;
  readonly maxOffers?: number;
  /** `k=v`, `k!=v`, `k`, `!k`. */
  readonly label?: readonly string[];
  readonly model?: string;
  readonly package?: string;
  readonly version?: string;
  readonly station?: readonly string[];
  readonly waves?: string;
  readonly successThreshold?: string;
  readonly failureBudget?: string;
  readonly deadline?: string;
  readonly soak?: string;
  /** The per-station health soak (core/rollout-soak.ts), e.g. 30m; 0 turns it off. Default: 30m for TC URI, TC credential and firmware rollouts. */
  readonly healthSoak?: string;
  readonly includeNew?: boolean;
  /** ISO 8601 with offset, or a duration from now (`2h`): the rollout is `scheduled` until then. */
  readonly startAt?: string;
  /** Time windows (`Mon-Fri 01:00-05:00 Europe/Berlin`): offers only while one is open. */
  readonly window?: readonly string[];
  /**
   * A member that fails gets back what it had before at its next exchange
   * (default: on for TC URI rollouts, off otherwise; firmware on request).
   */
  readonly revertUnhealthy?: boolean;
  /** Offers per minute at most, this rollout across every replica; none: unpaced. */
  readonly maxOffersPerMinute?: number;
  /** Wait in waiting_for_approval until an operator other than the creator approves (also when the server's policy says so). */
  readonly requireApproval?: boolean;
  /** Pause after each wave passes its gate, until resumed. */
  readonly pauseAfterWave?: boolean;
}

export interface RolloutView {
  readonly rollout: Rollout;
  readonly progress: RolloutProgress;
  /** One rollout read whole (show), with time windows: its pending members whose calls miss every window. */
  readonly outsideWindows?: WindowMissList;
  /** Failed members' automatic reverts by state; read for one rollout (show, create), not for listings. */
  readonly reverts?: Readonly<Record<RevertState, number>>;
  /** Pacing in force: the rollout's offers per minute, and the server's cap on firmware downloads in flight (null where not known). */
  readonly pacing: RolloutPacing;
  /** What the operator should know about the rollout as created (a deadline shorter than a healthy station needs). */
  readonly warnings?: readonly string[];
}

/** Pending members whose stations call only outside the rollout's windows: how many, and the first 100 by EUI. */
export interface WindowMissList {
  readonly count: number;
  readonly members: readonly WindowMiss[];
}

export interface RolloutPacing {
  readonly maxOffersPerMinute: number | null;
  readonly maxConcurrentDownloads: number | null;
  readonly downloadsInFlight: number | null;
}

export const DEFAULT_WAVES = '1,5%,25%,100%';

export async function createRollout(ctx: RolloutContext, input: RolloutInput, rollbackOf: string | null = null): Promise<RolloutView> {
  authorize(ctx, 'operator', 'creating a rollout');
  const change = await parseChange(ctx, input);
  const selector: RolloutSelector = {
    labels: (input.label ?? []).map(parseLabelSelector),
    ...(input.model === undefined ? {} : { model: input.model }),
    ...(input.package === undefined ? {} : { package: input.package }),
    ...(input.version === undefined ? {} : { stationVersion: input.version }),
    ...(input.station === undefined || input.station.length === 0 ? {} : { euis: input.station.map((e) => parseEui(e, 'station')) }),
  };
  const healthSoakMs = parseHealthSoak(change, input.healthSoak);
  // A healthy station gets the change at its next regular check (up to its interval after the
  // offer, PROTOCOL.md 8.3), then soaks: the default deadline leaves it that, plus the grace
  // after which a station counts as silent (with the default flags 24 h + 2 h + the soak).
  const health = healthOf(ctx);
  const needs = health.intervalMs + healthSoakMs;
  const plan: RolloutPlan = {
    waves: parseWaves(input.waves ?? DEFAULT_WAVES),
    successThreshold: parseThreshold(input.successThreshold ?? '100%'),
    failureBudget: parseAmount(input.failureBudget ?? '0', '--failure-budget'),
    deadlineMs: input.deadline === undefined ? needs + health.graceMs : parseDuration(input.deadline, '--deadline'),
    soakMs: input.soak === undefined ? 0 : parseDuration(input.soak, '--soak'),
    includeNew: input.includeNew === true,
    ...(input.startAt === undefined ? {} : { startAt: parseStartAt(input.startAt, ctx.clock()).toISOString() }),
    ...(input.window === undefined || input.window.length === 0 ? {} : { windows: input.window.map((w) => parseWindow(w).text) }),
    revertUnhealthy: revertChoice(change, input.revertUnhealthy),
    ...pacingAndApproval(ctx, input),
    healthSoakMs,
  };
  const warnings = change.kind === 'tcUri' && plan.deadlineMs < needs
    ? [`--deadline ${input.deadline ?? spoken(plan.deadlineMs)} is shorter than a healthy station needs: the change reaches it at its next regular check (up to ${spoken(health.intervalMs)} after the offer)${healthSoakMs > 0 ? ` and then soaks ${spoken(healthSoakMs)}` : ''}, so stations that work may fail as not confirmed; give --deadline ${Math.ceil(needs / 60_000)}m or more, or leave it out for the default`]
    : [];
  const stations = await selectStations(ctx.fleet, selector);
  // A rollout of nobody would pass every gate at once and complete before anyone could join.
  if (stations.length === 0) throw invalid('no_stations', 'no station matches the selector; check --label, --model, --package, --station-version and --station');
  const sizes = waveSizes(plan.waves, stations.length);
  const rollout = await ctx.rollouts.createRollout(
    {
      id: `r${randomBytes(4).toString('hex')}`,
      name: input.name ?? null,
      change,
      selector,
      plan,
      waveSizes: sizes,
      rollbackOf,
      createdBy: ctx.actor.name,
      createdByIdentity: approverIdentity(ctx.actor),
      members: stations.map((s, i) => ({ eui: s.eui, wave: waveOf(i, sizes) })),
      // Approval comes first: an approved rollout with a start time is scheduled until then.
      ...(plan.requireApproval === true ? { state: 'waiting_for_approval' as const } : plan.startAt === undefined ? {} : { state: 'scheduled' as const }),
    },
    ctx.clock(),
    (r) => audited(ctx, 'rollout.create', r.id, { change, selector, plan, stations: stations.length, rollbackOf }),
  );
  ctx.rolloutsChanged?.();
  return { ...(await view(ctx, rollout)), ...(warnings.length > 0 ? { warnings } : {}) };
}

/** `--health-soak`: a duration, or 0 for none; refused for a change the station answers by calling again at once. */
function parseHealthSoak(change: RolloutChange, text: string | undefined): number {
  if (text === undefined) return defaultHealthSoakMs(change);
  const ms = text.trim() === '0' ? 0 : parseDuration(text, '--health-soak');
  const refused = soakRefusal(change);
  if (ms > 0 && refused !== null) {
    throw invalid('health_soak_not_supported', `--health-soak cannot gate a ${describeChange(change)} rollout: ${refused}; leave --health-soak out or give 0`, { field: '--health-soak' });
  }
  return ms;
}

/** Whether a rollout of `change` reverts its failed members: as asked, else the change's default. */
function revertChoice(change: RolloutChange, asked: boolean | undefined): boolean {
  if (asked !== true) return asked ?? revertsByDefault(change);
  const refused = revertRefusal(change);
  if (refused !== null) throw invalid('revert_not_supported', `--revert-unhealthy cannot undo a ${describeChange(change)} rollout: ${refused}. Use a small first wave instead`);
  return true;
}

/** The plan's pace, approval and pause-after-wave, from the input and the server's policy. */
function pacingAndApproval(ctx: RolloutContext, input: RolloutInput): Pick<RolloutPlan, 'maxOffersPerMinute' | 'requireApproval' | 'pauseAfterWave'> {
  const pace = input.maxOffersPerMinute;
  if (pace !== undefined && (!Number.isInteger(pace) || pace < 1 || pace > 100_000)) {
    throw invalid('invalid_max_offers_per_minute', `--max-offers-per-minute must be a whole number from 1 to 100000, got "${pace}"`, { field: 'maxOffersPerMinute' });
  }
  const approval = input.requireApproval === true || ctx.rolloutPolicy?.needApproval === true;
  return {
    ...(pace === undefined ? {} : { maxOffersPerMinute: pace }),
    ...(approval ? { requireApproval: true } : {}),
    ...(input.pauseAfterWave === true ? { pauseAfterWave: true } : {}),
  };
}

async function parseChange(ctx: RolloutContext, input: RolloutInput): Promise<RolloutChange> {
  const given = [input.firmware, input.tcUri, input.cupsUri, input.rotate].filter((v) => v !== undefined).length;
  if (given !== 1) throw invalid('invalid_change', 'give exactly one change: --firmware PACKAGE, --tc-uri URI, --cups-uri URI or --rotate cups|tc|both');
  if (input.rotate !== undefined) {
    const categories = ({ cups: ['cups'], tc: ['tc'], both: ['cups', 'tc'] } as const)[input.rotate as 'cups'];
    if (categories === undefined) throw invalid('invalid_rotate', `--rotate must be cups, tc or both, got "${input.rotate}"`);
    return { kind: 'credentials', categories };
  }
  if (input.firmware !== undefined) {
    const entry = await requirePackage(ctx.rollouts, input.firmware);
    const maxOffers = input.maxOffers ?? 3;
    if (!Number.isInteger(maxOffers) || maxOffers < 1) throw invalid('invalid_max_offers', `--max-offers must be a whole number ≥ 1, got "${maxOffers}"`);
    return { kind: 'firmware', package: entry.package, allowDowngrade: input.allowDowngrade === true, maxOffers };
  }
  if (input.tcUri !== undefined) return { kind: 'tcUri', uri: validateTcUri(input.tcUri, 'tcUri') };
  return { kind: 'cupsUri', uri: validateCupsUri(input.cupsUri as string, 'cupsUri') };
}

export async function view(ctx: RolloutContext, rollout: Rollout, members?: readonly RolloutMember[]): Promise<RolloutView> {
  if (members !== undefined) return { rollout, progress: rolloutProgress(rollout, members, ctx.clock(), healthOf(ctx).intervalMs), reverts: revertsOf(members), pacing: pacingOf(ctx, rollout) };
  return { ...((await views(ctx, [rollout]))[0] as RolloutView), reverts: await ctx.rollouts.revertCounts(rollout.id) };
}

function revertsOf(members: readonly RolloutMember[]): Record<RevertState, number> {
  const out: Record<RevertState, number> = { reverting: 0, reverted: 0, refused: 0 };
  for (const m of members) if (m.state === 'failed' && m.revert !== null && m.revert !== undefined) out[m.revert.state] += 1;
  return out;
}

/** The EUIs of a rollout's pending members, read a page of pending ones at a time. */
async function pendingMembers(ctx: RolloutContext, id: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.rollouts.listMemberPage(id, { states: ['pending'], limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.items.map((m) => m.eui));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

/**
 * A rollout read whole, with time windows: the pending members whose calls miss
 * every window are listed apart (with their usual call time) instead of counted
 * as if they were about to be offered, and the gate says how many there are.
 */
async function withWindowMisses(ctx: RolloutContext, v: RolloutView, members?: readonly RolloutMember[]): Promise<RolloutView> {
  const windows = planWindows(v.rollout.plan);
  if (windows.length === 0 || !isActive(v.rollout.state)) return v;
  const pending = members === undefined ? await pendingMembers(ctx, v.rollout.id) : members.filter((m) => m.state === 'pending').map((m) => m.eui);
  const misses = windowMisses(windows, await ctx.rollouts.callRhythms(pending), ctx.clock(), healthOf(ctx).intervalMs, healthOf(ctx).graceMs);
  const gate = misses.length === 0 ? v.progress.gate : `${v.progress.gate}; ${misses.length} pending station(s) call only outside its windows and are not offered unless they call early (see outsideWindows)`;
  return { ...v, progress: { ...v.progress, gate }, outsideWindows: { count: misses.length, members: misses.slice(0, 100) } };
}

function pacingOf(ctx: RolloutContext, rollout: Rollout): RolloutPacing {
  const policy = ctx.rolloutPolicy;
  return {
    maxOffersPerMinute: rollout.plan.maxOffersPerMinute ?? null,
    maxConcurrentDownloads: policy?.maxConcurrentDownloads ?? null,
    downloadsInFlight: policy?.downloadsInFlight === undefined ? null : policy.downloadsInFlight(),
  };
}

/** Progress of rollouts from one SQL aggregate of member counts: no member row is read. */
async function views(ctx: RolloutContext, rollouts: readonly Rollout[]): Promise<RolloutView[]> {
  const counts = await ctx.rollouts.memberCounts(rollouts.map((r) => r.id));
  const now = ctx.clock();
  return rollouts.map((rollout) => ({ rollout, progress: rolloutProgressFromCounts(rollout, counts.get(rollout.id) ?? [], now, healthOf(ctx).intervalMs), pacing: pacingOf(ctx, rollout) }));
}

async function requireRollout(ctx: RolloutContext, id: string): Promise<Rollout> {
  const rollout = await ctx.rollouts.getRollout(id);
  if (rollout === undefined) throw notFound('rollout_not_found', `no rollout ${id}; list them with bscups rollout list`, { id });
  return rollout;
}

export interface RolloutListInput {
  readonly states?: readonly string[];
  /** Page size, 1..1000; default 50. */
  readonly limit?: number;
  readonly cursor?: string;
}

/**
 * One page of rollouts, most recent first, each with its counts per wave and
 * state from an SQL aggregate: a listing reads no member rows, however many
 * rollouts and members there are.
 */
export async function listRollouts(ctx: RolloutContext, input: RolloutListInput = {}): Promise<Page<RolloutView>> {
  authorize(ctx, 'viewer', 'listing rollouts');
  const states = splitList(input.states);
  for (const s of states) if (!(ROLLOUT_STATES as readonly string[]).includes(s)) throw invalid('invalid_state', `state "${s}" is not one of ${ROLLOUT_STATES.join(', ')}`, { field: 'state' });
  const page = await ctx.rollouts.listRolloutPage({ states: states as RolloutState[], limit: input.limit ?? 50, ...(input.cursor === undefined ? {} : { cursor: input.cursor }) });
  return { items: await views(ctx, page.items), nextCursor: page.nextCursor };
}

/** One rollout with its counts per wave and state, gate and ETA; its members and events are read a page at a time. */
export async function getRollout(ctx: RolloutContext, id: string): Promise<RolloutView> {
  authorize(ctx, 'viewer', 'reading a rollout');
  return withWindowMisses(ctx, await view(ctx, await requireRollout(ctx, id)));
}

export interface MemberListInput {
  /** Member states (repeat or comma-separate), e.g. failed for the failed and lost. */
  readonly states?: readonly string[];
  readonly wave?: number;
  /** Page size, 1..1000; default 100. */
  readonly limit?: number;
  readonly cursor?: string;
}

/** One page of a rollout's members in EUI order, optionally only some states or one wave. */
export async function listRolloutMembers(ctx: RolloutContext, id: string, input: MemberListInput = {}): Promise<Page<RolloutMember>> {
  authorize(ctx, 'viewer', 'reading a rollout');
  const states = splitList(input.states);
  for (const s of states) if (!(MEMBER_STATES as readonly string[]).includes(s)) throw invalid('invalid_state', `member state "${s}" is not one of ${MEMBER_STATES.join(', ')}`, { field: 'state' });
  if (input.wave !== undefined && (!Number.isInteger(input.wave) || input.wave < 1)) throw invalid('invalid_wave', `wave must be a whole number ≥ 1, got "${input.wave}"`, { field: 'wave' });
  await requireRollout(ctx, id);
  return ctx.rollouts.listMemberPage(id, {
    states: states as MemberState[],
    limit: input.limit ?? 100,
    ...(input.wave === undefined ? {} : { wave: input.wave }),
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
}

export interface RolloutEventListInput {
  readonly types?: readonly string[];
  /** asc: oldest first (default); desc: newest first. */
  readonly order?: 'asc' | 'desc';
  /** Page size, 1..1000; default 100. */
  readonly limit?: number;
  readonly cursor?: string;
}

/** One page of a rollout's event log. */
export async function listRolloutEvents(ctx: RolloutContext, id: string, input: RolloutEventListInput = {}): Promise<Page<RolloutEventRecord>> {
  authorize(ctx, 'viewer', 'reading a rollout');
  await requireRollout(ctx, id);
  return ctx.rollouts.listRolloutEventPage(id, {
    types: splitList(input.types),
    order: input.order ?? 'asc',
    limit: input.limit ?? 100,
    ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
  });
}

const splitList = (values: readonly string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');

/**
 * The whole rollout with every member and event, for in-process tools and
 * tests on small rollouts; the API, CLI and dashboard read pages instead.
 */
export async function showRollout(ctx: RolloutContext, id: string): Promise<RolloutView & { readonly members: RolloutMember[]; readonly events: RolloutEventRecord[] }> {
  authorize(ctx, 'viewer', 'reading a rollout');
  const rollout = await requireRollout(ctx, id);
  const [members, events] = await Promise.all([ctx.rollouts.listMembers(id), ctx.rollouts.listRolloutEvents(id)]);
  return { ...(await withWindowMisses(ctx, await view(ctx, rollout, members), members)), members, events };
}

type Control = 'pause' | 'resume' | 'abort';
const FROM: Record<Control, readonly RolloutState[]> = { pause: ['running'], resume: ['paused', 'halted'], abort: ['scheduled', 'running', 'paused', 'halted', 'waiting_for_approval'] };
const TO: Record<Control, RolloutState> = { pause: 'paused', resume: 'running', abort: 'aborted' };
const EVENT: Record<Control, RolloutEvent['type']> = { pause: 'paused', resume: 'resumed', abort: 'aborted' };

/**
 * pause (no new offers), resume (from paused or halted), abort (stop for good). Pause
 * and abort also take back every offer a station has not fetched yet (core/rollout-withdraw.ts):
 * paused, it is made again on resume; aborted, never. What a station fetched stays.
 */
export async function controlRollout(ctx: RolloutContext, id: string, action: Control): Promise<RolloutView> {
  authorize(ctx, 'operator', `${action === 'abort' ? 'aborting' : action === 'pause' ? 'pausing' : 'resuming'} a rollout`);
  const rollout = await writeGuarded(ctx, id, async (r, members) => {
    if (r.state === 'waiting_for_approval' && action !== 'abort') {
      throw conflict('rollout_state', `rollout ${id} is waiting for approval: an operator other than its creator approves it (bscups rollout approve ${id}) or denies it; its creator can abort it`, { state: r.state });
    }
    if (!FROM[action].includes(r.state)) throw conflict('rollout_state', `rollout ${id} is ${r.state}; only a ${FROM[action].join(' or ')} rollout can be ${action === 'abort' ? 'aborted' : `${action}d`}`, { state: r.state });
    // Resuming a rollout halted at a finished wave's success gate is the operator's
    // decision to go on: the wave counts as passed. A failure budget still exceeded
    // halts it again at the next evaluation.
    const settled = r.wave > 0 && members.every((m) => m.wave !== r.wave || (m.state !== 'pending' && m.state !== 'offered'));
    const override = action === 'resume' && r.state === 'halted' && r.wavePassedAt === null && settled;
    const offered = action === 'resume' ? [] : members.filter((m) => m.state === 'offered');
    const withdrawn = offered.length === 0
      ? { members: [], events: [] }
      : withdrawUnfetched(r, offered, await ctx.rollouts.observe(offered.map((m) => m.eui)), action === 'abort' ? 'reverted' : 'pending', `the rollout was ${action === 'abort' ? 'aborted' : 'paused'} by ${ctx.actor.name}`);
    return {
      members: withdrawn.members,
      rollout: { state: TO[action], ...(action === 'resume' ? { haltReason: null } : {}), ...(override ? { wavePassedAt: ctx.clock() } : {}) },
      events: [
        { type: EVENT[action], message: `${EVENT[action]} by ${ctx.actor.name}${override ? `; wave ${r.wave} counted as passed` : ''}${withdrawn.members.length > 0 ? `; ${withdrawn.members.length} offers not fetched yet withdrawn` : ''}` },
        ...withdrawn.events,
      ],
    };
  }, () => audited(ctx, `rollout.${action}`, id));
  if (action === 'resume') ctx.rolloutsChanged?.();
  return view(ctx, rollout);
}

/**
 * Decides a step on the rollout as read and writes it if nobody changed the rollout meanwhile; retries otherwise.
 * `audit` is asked for the row after each decision and written with the step that commits.
 */
export async function writeGuarded(
  ctx: RolloutContext,
  id: string,
  decide: (r: Rollout, members: RolloutMember[]) => RolloutStep | Promise<RolloutStep>,
  audit: (step: RolloutStep) => NewAuditEntry,
): Promise<Rollout> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const rollout = await requireRollout(ctx, id);
    const step = await decide(rollout, await ctx.rollouts.listMembers(id));
    if (await ctx.rollouts.applyStep(rollout, step, ctx.clock(), undefined, audit(step))) return requireRollout(ctx, id);
  }
  throw conflict('rollout_busy', `rollout ${id} kept changing while this was decided; try again`);
}

export interface RollbackResult {
  readonly rollout: string;
  /** Stations whose desired URI was set back. */
  readonly reverted: number;
  /** URI rollouts: touched stations left as they are, since their desired URI is no longer the rollout's. */
  readonly skipped: readonly { readonly eui: string; readonly reason: string }[];
  /** Firmware: the rollouts created to bring stations back to their previous package. */
  readonly rollouts: readonly string[];
}

/**
 * Sets the stations a rollout touched back to what they had before: a URI
 * change is restored at once; firmware is rolled back by a new rollout of the
 * previous package (which must still be in the library, and needs
 * allowDowngrade, as any downgrade does).
 */
export async function rollbackRollout(ctx: RolloutContext, id: string, options: { readonly allowDowngrade?: boolean } = {}): Promise<RollbackResult> {
  authorize(ctx, 'operator', 'rolling back a rollout');
  const original = await requireRollout(ctx, id);
  if (original.state === 'rolled_back') throw conflict('rollout_state', `rollout ${id} is already rolled back`);
  if (original.change.kind === 'credentials') {
    // A whole rotation is not undone: the CUPS credential a station had is retired once it uses the new one,
    // and a TC credential is given back only to a member that fails (--revert-unhealthy, rollout-revert.ts).
    // Going on (another rotation) is the way back.
    throw invalid(
      'rollback_not_possible',
      `rollout ${id} rotated credentials, which a rollback does not undo: a station's previous credential is retired once it uses the new one ` +
        `(a TC credential rotation with --revert-unhealthy gives it back only to a station that fails). ` +
        `Abort it to stop offering (stations keep what they hold), or replace the new credentials with another rotation: bscups rollout create --rotate ${original.change.categories.length === 2 ? 'both' : original.change.categories[0]} --station …`,
    );
  }
  const touched = (await ctx.rollouts.listMembers(id)).filter((m) => m.previous !== null && ['offered', 'confirmed', 'failed'].includes(m.state));
  return original.change.kind === 'firmware' ? rollbackFirmware(ctx, original, touched, options.allowDowngrade === true) : rollbackUris(ctx, original);
}

/**
 * Restores the previous desired URI of each station the rollout touched, but
 * only where the desired URI is still the rollout's: a station changed since
 * (by an operator, or another rollout) keeps that change and is reported as
 * skipped. The store re-checks the value in the write (rollout-step.ts).
 */
async function rollbackUris(ctx: RolloutContext, original: Rollout): Promise<RollbackResult> {
  let reverted = 0;
  let skipped: { eui: string; reason: string }[] = [];
  await writeGuarded(ctx, original.id, async (r, members) => {
    if (r.change.kind !== 'tcUri' && r.change.kind !== 'cupsUri') throw new Error('rollbackUris: not a URI rollout');
    const key = r.change.kind;
    const uri = r.change.uri;
    // A failed member already set back by its automatic revert has nothing left to roll back.
    const touched = members.filter((m) => m.previous !== null && ['offered', 'confirmed', 'failed'].includes(m.state) && m.revert?.state !== 'reverting' && m.revert?.state !== 'reverted');
    const observed = await ctx.rollouts.observe(touched.map((m) => m.eui));
    const changes: MemberChange[] = [];
    const events: RolloutEvent[] = [];
    skipped = [];
    for (const m of touched) {
      const desired = observed.get(m.eui);
      if (desired === undefined || !desired.exists || desired.desired[key] !== uri) {
        const reason = desired === undefined || !desired.exists ? 'not rolled back: station no longer registered' : `not rolled back: desired ${key} is now ${desired.desired[key] ?? 'none'}, no longer the rollout's ${uri}`;
        skipped.push({ eui: m.eui, reason });
        events.push({ type: 'skipped', eui: m.eui, wave: m.wave, message: `${describeChange(r.change)}: ${reason}` });
        continue;
      }
      const reason = `desired ${key} set back to ${(m.previous as PreviousConfig)[key] ?? 'none'}`;
      changes.push({ eui: m.eui, wave: m.wave, state: 'reverted', reason, restore: m.previous as PreviousConfig });
      events.push({ type: 'reverted', eui: m.eui, wave: m.wave, message: `${describeChange(r.change)}: reverted (${reason})` });
    }
    reverted = changes.length;
    const left = skipped.length > 0 ? `; ${skipped.length} left as they are (desired ${key} changed since)` : '';
    return { members: changes, rollout: { state: 'rolled_back' }, events: [...events, { type: 'rolled_back', message: `rolled back by ${ctx.actor.name}: ${changes.length} station(s) set back${left}` }] };
  }, () => audited(ctx, 'rollout.rollback', original.id, { reverted, skipped: skipped.map((s) => s.eui), rollouts: [] }));
  return { rollout: original.id, reverted, skipped, rollouts: [] };
}

async function rollbackFirmware(ctx: RolloutContext, original: Rollout, touched: readonly RolloutMember[], allowDowngrade: boolean): Promise<RollbackResult> {
  if (!allowDowngrade) throw invalid('downgrade_flag_required', `rolling back firmware installs the previous package, a downgrade: pass --allow-downgrade`);
  const byPackage = new Map<string, string[]>();
  for (const m of touched) {
    const pkg = m.previous?.package;
    if (pkg === null || pkg === undefined) continue;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), m.eui]);
  }
  // Every previous package must still be stored before anything changes.
  for (const pkg of byPackage.keys()) await requirePackage(ctx.rollouts, pkg);
  await writeGuarded(ctx, original.id, (r) => {
    if (isActive(r.state) || r.state === 'completed' || r.state === 'aborted') {
      return { members: [], rollout: { state: 'rolled_back' }, events: [{ type: 'rolled_back', message: `rolled back by ${ctx.actor.name}: previous package(s) ${[...byPackage.keys()].join(', ') || 'none'}` }] };
    }
    throw conflict('rollout_state', `rollout ${r.id} is ${r.state}`);
  }, () =>
    // The rollouts that bring stations back are created next, each audited as rollout.create with rollbackOf.
    audited(ctx, 'rollout.rollback', original.id, { reverted: 0, skipped: [], previousPackages: Object.fromEntries([...byPackage].map(([pkg, euis]) => [pkg, euis.length])) }));
  const created: string[] = [];
  for (const [pkg, euis] of byPackage) {
    const v = await createRollout(
      ctx,
      {
        name: `rollback of ${original.id} to ${pkg}`,
        firmware: pkg,
        allowDowngrade: true,
        maxOffers: original.change.kind === 'firmware' ? original.change.maxOffers : 3,
        station: euis,
        waves: '100%',
        successThreshold: String(original.plan.successThreshold),
        failureBudget: `${'count' in original.plan.failureBudget ? original.plan.failureBudget.count : `${original.plan.failureBudget.percent}%`}`,
        deadline: `${Math.max(1, Math.round(original.plan.deadlineMs / 1000))}s`,
        // The way back soaks as the way there did.
        healthSoak: healthSoakOf(original.plan) === 0 ? '0' : `${Math.max(1, Math.round(healthSoakOf(original.plan) / 1000))}s`,
      },
      original.id,
    );
    created.push(v.rollout.id);
  }
  return { rollout: original.id, reverted: 0, skipped: [], rollouts: created };
}
