import type { AccessStore, ApiKeyInfo, NewApiKey } from './access-types.js';
import type { AuditFor } from './audit-row.js';
import type { CredentialPlan } from './auth-types.js';
import type { FaultHook } from '../core/fault-hook.js';
import type { FleetStore } from './fleet-types.js';
import type { ProvisioningPlan } from './provisioning-types.js';
import type { FirmwarePackage, NewRollout, RolloutStore } from './rollout-types.js';
import type { RolloutStep } from '../core/rollout-gate.js';
import type { Rollout } from '../core/rollout.js';
import type {
  FirmwareTarget,
  FirmwareTransition,
  NewEvent,
  NewFirmwareTarget,
  NewStation,
  SigningKey,
  Station,
  StationPatch,
  StationRegistry,
} from './types.js';

// The stores as operations (operator actions and the rollout engine) see them.
// Each write that changes what an operator can see takes the audit row that
// records it, REQUIRED here (optional on the stores themselves, for tests and
// the station path): the store writes the row in the change's own transaction.
// Writes that cannot take one (the single-purpose auth writes) are left out, so
// an operation cannot make a change without its row. The real stores are
// assignable to these views as they are.

/** StationRegistry for operations: audited writes only. */
export interface OperatorRegistry
  extends Omit<
    StationRegistry,
    | 'createStation' | 'updateStation' | 'removeStation' | 'setFirmwareTarget' | 'setFirmwareTargets' | 'changeCredentials'
    | 'updateFirmware' | 'addSigningKey' | 'removeSigningKey' | 'setAuthMode' | 'addCertificate' | 'addToken'
    | 'retireCertificate' | 'retireToken' | 'startRotation' | 'cancelRotation' | 'completeRotation' | 'markTokenCompromised'
  > {
  createStation(input: NewStation, audit: AuditFor<Station>): Promise<Station>;
  updateStation(eui: string, patch: StationPatch, audit: AuditFor<Station>): Promise<Station>;
  removeStation(eui: string, audit: AuditFor<boolean>): Promise<boolean>;
  setFirmwareTargets(
    targets: readonly { readonly eui: string; readonly target: NewFirmwareTarget; readonly events: readonly NewEvent[] }[],
    at: Date,
    faults: FaultHook | undefined,
    audit: AuditFor<void>,
  ): Promise<void>;
  changeCredentials<T>(eui: string, plan: CredentialPlan<T>, at: Date, faults: FaultHook | undefined, audit: AuditFor<T>): Promise<T>;
  updateFirmware(eui: string, transition: FirmwareTransition & { readonly resetOffers?: boolean }, audit: AuditFor<FirmwareTarget | null>): Promise<FirmwareTarget | null>;
  addSigningKey(key: { readonly crc: number; readonly publicKey: string; readonly name: string | null }, audit: AuditFor<SigningKey>): Promise<SigningKey>;
  removeSigningKey(crc: number, audit: AuditFor<boolean>): Promise<boolean>;
}

/** AccessStore for operations: key changes carry their row; appendAudit only for changes outside the database. */
export interface OperatorAccess extends Omit<AccessStore, 'addApiKey' | 'revokeApiKey'> {
  addApiKey(key: NewApiKey, at: Date, audit: AuditFor<ApiKeyInfo>): Promise<ApiKeyInfo>;
  revokeApiKey(id: string, at: Date, audit: AuditFor<boolean>): Promise<boolean>;
}

/** RolloutStore for operations and the engine. */
export interface OperatorRollouts extends Omit<RolloutStore, 'addPackage' | 'removePackage' | 'createRollout' | 'applyStep'> {
  addPackage(pkg: Omit<FirmwarePackage, 'createdAt'>, at: Date, audit: AuditFor<FirmwarePackage>): Promise<FirmwarePackage>;
  removePackage(pkg: string, audit: AuditFor<boolean>): Promise<boolean>;
  createRollout(input: NewRollout, at: Date, audit: AuditFor<Rollout>): Promise<Rollout>;
  applyStep(rollout: Rollout, step: RolloutStep, at: Date, credentials: ReadonlyMap<string, CredentialPlan<unknown>> | undefined, audit: AuditFor<true>): Promise<boolean>;
}

/** FleetStore for operations. */
export interface OperatorFleet extends Omit<FleetStore, 'provisionStations'> {
  provisionStations<T>(euis: readonly string[], plan: ProvisioningPlan<T>, at: Date, audit: AuditFor<T>): Promise<T>;
}
