import type { AuditFor } from './audit-row.js';
import type { HealthRecord } from '../core/health.js';
import type { MemberState, RevertState, Rollout, RolloutMember, RolloutState } from '../core/rollout.js';
import type { RolloutEventType, RolloutStep, StationObservation } from '../core/rollout-gate.js';
import type { CredentialPlan } from './auth-types.js';
import type { Page } from './fleet-types.js';
import type { FirmwareUpdate } from './types.js';
import type { TcCredentialRow } from '../core/rollout-revert.js';

/** An update stored once and verified, that stations and rollouts target by its package version (the library's key). */
export interface FirmwarePackage extends FirmwareUpdate {
  /** Station models (reported `model`) it is built for; empty: any. */
  readonly models: readonly string[];
  readonly createdBy: string;
  readonly createdAt: Date;
}

/** What still refers to a library package. */
export interface FirmwarePackageUse {
  /** Stations whose firmware target is this package and not yet upgraded. */
  readonly stations: readonly string[];
  /** Active rollouts (scheduled, running, paused, halted) of this package. */
  readonly rollouts: readonly string[];
  /** Targets of this package that failed (offers used up, or its stored bytes not the upload's), with why; at most 20. */
  readonly failed?: readonly { readonly eui: string; readonly lastError: string | null }[];
}

/** A rollout as created: the core's Rollout fields fixed at creation (the store sets state, wave and times), with its members. */
export interface NewRollout extends Pick<Rollout, 'id' | 'name' | 'change' | 'selector' | 'plan' | 'waveSizes' | 'rollbackOf' | 'createdBy'>, Partial<Pick<Rollout, 'createdByIdentity'>> {
  /**
   * The state it starts in: running (default), scheduled (with plan.startAt: the engine starts it),
   * or waiting_for_approval; the last two queue the webhook event of their name.
   */
  readonly state?: Extract<RolloutState, 'running' | 'scheduled' | 'waiting_for_approval'>;
  /** In rollout order, each with its wave. Stations another active rollout holds are recorded as skipped. */
  readonly members: readonly Pick<RolloutMember, 'eui' | 'wave'>[];
}

/** A station's calls as the registry knows them: the last one, and the interval its health record learned. */
export interface CallRhythm {
  readonly lastSeenAt: Date | null;
  readonly health: HealthRecord | null;
}

export interface RolloutEventRecord {
  readonly id: number;
  readonly at: Date;
  readonly type: RolloutEventType;
  readonly wave: number | null;
  readonly eui: string | null;
  readonly message: string;
}

export interface RolloutPageQuery {
  readonly states?: readonly RolloutState[];
  /** 1..1000. */
  readonly limit: number;
  readonly cursor?: string;
}

export interface MemberPageQuery {
  readonly states?: readonly MemberState[];
  readonly wave?: number;
  /** 1..1000. */
  readonly limit: number;
  readonly cursor?: string;
}

export interface RolloutEventPageQuery {
  readonly types?: readonly string[];
  readonly order?: 'asc' | 'desc';
  /** 1..1000. */
  readonly limit: number;
  readonly cursor?: string;
}

export interface MemberCount {
  readonly wave: number;
  readonly state: MemberState;
  readonly count: number;
  /** Offered members whose change was delivered and who are in their health soak. */
  readonly soaking?: boolean;
}

/** The firmware library and the rollouts, on the registry's database (migration 0006_rollouts). */
export interface RolloutStore {
  /** Adds a package; throws conflict `package_exists` when the version is in the library. */
  addPackage(pkg: Omit<FirmwarePackage, 'createdAt'>, at: Date, audit?: AuditFor<FirmwarePackage>): Promise<FirmwarePackage>;
  getPackage(pkg: string): Promise<FirmwarePackage | undefined>;
  /** Most recent first. */
  listPackages(): Promise<FirmwarePackage[]>;
  packageUse(pkg: string): Promise<FirmwarePackageUse>;
  /** Deletes the entry; throws conflict `package_in_use` while a station target or an active rollout uses it; false when absent. */
  removePackage(pkg: string, audit?: AuditFor<boolean>): Promise<boolean>;

  /** Creates a rollout (running unless told: scheduled, or waiting for approval) at wave 0 with its members and claims, in one transaction; a scheduled or waiting one queues its webhook event in it. */
  createRollout(input: NewRollout, at: Date, audit?: AuditFor<Rollout>): Promise<Rollout>;
  getRollout(id: string): Promise<Rollout | undefined>;
  /** Most recent first; only the given states when any. */
  listRollouts(states?: readonly RolloutState[]): Promise<Rollout[]>;
  /** Completed rollouts with a member its health soak confirmed whose report is still due (core/rollout-soak.ts). */
  listRolloutsWithReportsDue?(): Promise<Rollout[]>;
  listMembers(id: string): Promise<RolloutMember[]>;
  /** Oldest first. */
  listRolloutEvents(id: string): Promise<RolloutEventRecord[]>;
  /** One page of rollouts, most recent first; `nextCursor` continues it (null at the end). */
  listRolloutPage(query: RolloutPageQuery): Promise<Page<Rollout>>;
  /** Member counts by wave and state of these rollouts, from one SQL aggregate (no member rows read). */
  memberCounts(ids: readonly string[]): Promise<Map<string, MemberCount[]>>;
  /** Rollouts no longer active with a failed member whose revert is still under way (the engine follows them until it is done). */
  listSettlingRollouts(): Promise<Rollout[]>;
  /** How many of a rollout's failed members are being reverted, were reverted, or could not be (0018_revert). */
  revertCounts(id: string): Promise<Record<RevertState, number>>;
  /** One page of a rollout's members in EUI order, optionally only some states or one wave. */
  listMemberPage(id: string, query: MemberPageQuery): Promise<Page<RolloutMember>>;
  /** One page of a rollout's events, oldest first or (desc) newest first. */
  listRolloutEventPage(id: string, query: RolloutEventPageQuery): Promise<Page<RolloutEventRecord>>;
  /**
   * The TC credential blobs that rollouts may still give back (PreviousConfig.tcCred): of the members
   * of active rollouts, and of members whose report is still due or whose revert is under way.
   * `blobs gc` leaves them.
   */
  revertableCredentialBlobs(): Promise<Set<string>>;
  /** The TC certificates and tokens registered for these stations (what a TC credential revert checks it may give back). */
  tcCredentials(euis: readonly string[]): Promise<Map<string, TcCredentialRow[]>>;
  /** Member counts of every active rollout by member state, for the gauges. */
  countMembers(): Promise<{ readonly rollout: string; readonly rolloutState: RolloutState; readonly state: string; readonly count: number }[]>;

  /** What the registry says about these stations now (absent EUIs are reported as not existing). */
  observe(euis: readonly string[]): Promise<Map<string, StationObservation>>;
  /** When each of these stations last called and its health record (its call rhythm), for time windows; absent EUIs are left out. */
  callRhythms(euis: readonly string[]): Promise<Map<string, CallRhythm>>;
  /** Which of these stations an active rollout holds, and which. */
  claims(euis: readonly string[]): Promise<Map<string, string>>;
  /**
   * Writes a step decided on `rollout` as read: the rollout row, member rows,
   * claims, the change on every station offered or restored, and the events of
   * the rollout and its stations, in one transaction, and only if the rollout is
   * still at `rollout.version`. False (nothing written) when it moved on.
   * A credential rotation's offers are written by `credentials` (one plan per
   * station offered, applied as StationRegistry.changeCredentials would).
   * `audit` is written in that transaction when the step is written, never when superseded.
   */
  applyStep(rollout: Rollout, step: RolloutStep, at: Date, credentials?: ReadonlyMap<string, CredentialPlan<unknown>>, audit?: AuditFor<true>): Promise<boolean>;
}
