import type { NewEvent } from '../core/model.js';
import type { StationAuthMode } from '../core/station-auth-model.js';

/** What bulk provisioning sets on a station, and what an export writes: the operator's side only. */
export interface ProvisionedStation {
  /** 16 uppercase hex digits. */
  readonly eui: string;
  readonly name: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly cupsUri: string | null;
  readonly tcUri: string | null;
  readonly authMode: StationAuthMode;
  /**
   * Which CUPS credentials the station holds (active, not retired): read for an
   * import, which must not switch a station to a mode it has no credential for.
   * Absent in an export.
   */
  readonly cupsCredentials?: { readonly certificate: boolean; readonly token: boolean };
}

/** Fields to change on a registered station; absent fields stay, labels replace the station's labels. */
export type ProvisioningUpdate = { readonly eui: string } & Partial<Omit<ProvisionedStation, 'eui' | 'cupsCredentials'>>;

/** One batch's writes, applied in one transaction. */
export interface ProvisioningWrite {
  readonly creates: readonly ProvisionedStation[];
  readonly updates: readonly ProvisioningUpdate[];
  readonly events: readonly { readonly eui: string; readonly event: NewEvent }[];
}

/**
 * Decides a batch from its stations as they are inside the transaction (locked on
 * PostgreSQL; SQLite holds its one write lock): absent from the map means not
 * registered. Synchronous, like a credential plan: nothing is awaited under the lock.
 */
export type ProvisioningPlan<T> = (current: ReadonlyMap<string, ProvisionedStation>) => {
  readonly write: ProvisioningWrite;
  readonly result: T;
};
