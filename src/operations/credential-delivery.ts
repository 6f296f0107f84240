import type { BlobStore } from '../blobs/types.js';
import { notFound } from '../core/errors.js';
import type { FaultHook } from '../core/fault-hook.js';
import type {
  CredentialCategory,
  CredentialChange,
  CredentialPlan,
  NewStationCertificate,
  NewStationToken,
  StationAuth,
  StationAuthMode,
} from '../registry/auth-types.js';
import type { NewAuditEntry } from '../registry/index.js';
import type { CredentialRef, NewEvent, Station, StationRegistry } from '../registry/types.js';
import { desiredField, storeCredential } from './credential-blob.js';

/**
 * What the credential operations need; an OperationContext fits. `faults` only in tests (see FaultHook).
 * The helpers below take the audit row of their change as their last argument and hand it to the
 * registry's transaction; the operations (station-credentials.ts, credential-rotate.ts) always give it.
 */
export interface CredentialDeps {
  readonly registry: Pick<StationRegistry, 'getStation' | 'getStationAuth' | 'findToken' | 'changeCredentials'>;
  readonly blobs: BlobStore;
  readonly clock: () => Date;
  readonly faults?: FaultHook;
}

/** One credential to make a station's desired credential of its category. */
export interface Delivery {
  readonly category: CredentialCategory;
  /** The normalised credential blob. */
  readonly blob: Buffer;
  /** What the blob carries that the server checks, registered as active with the blob's CRC. */
  readonly certificate?: Omit<NewStationCertificate, 'category' | 'credCrc'>;
  readonly token?: Omit<NewStationToken, 'category' | 'credCrc'>;
  /**
   * Start a rotation towards the blob: the category's other credentials stay valid until the station reports
   * the new CRC (for CUPS: while authenticating with the new credential), then they retire. For CUPS,
   * `targetMode` becomes the auth mode then; until then the server accepts it beside the current mode.
   */
  readonly rotation?: { readonly targetMode: StationAuthMode | null };
  /** Event text; the CRC is appended. */
  readonly message: string;
}

export interface Delivered {
  readonly category: CredentialCategory;
  readonly ref: CredentialRef;
}

/**
 * Makes each delivery the station's desired credential, in the one order no
 * crash can turn into a lock-out: blobs first (unreferenced until the commit),
 * then one transaction registers what they carry, points the desired state at
 * them and starts the rotations, then the replaced blobs go. A crash before the
 * commit leaves the old state whole (plus a stray blob `bscups blobs gc` finds);
 * after it, only a stray old blob.
 */
export async function deliverCredentials(
  deps: CredentialDeps,
  eui: string,
  deliveries: readonly Delivery[],
  guard?: (current: { readonly station: Station; readonly auth: StationAuth }) => void,
  audit?: (delivered: readonly Delivered[]) => NewAuditEntry | null,
): Promise<{ delivered: Delivered[]; before: { station: Station; auth: StationAuth } }> {
  const { registry, faults } = deps;
  const delivered = await storeDeliveries(deps, eui, deliveries);
  const at = deps.clock();
  let before: { station: Station; auth: StationAuth };
  try {
    before = await registry.changeCredentials(eui, credentialPlan(deliveries, delivered, guard), at, faults, audit === undefined ? undefined : () => audit(delivered));
  } catch (e) {
    await dropUnreferenced(deps, eui, delivered);
    throw e;
  }
  await faults?.('committed');
  await deleteReplaced(deps, before.station, delivered);
  return { delivered, before };
}

/** The first step of a delivery: the blobs, stored before anything refers to them. */
export async function storeDeliveries(deps: CredentialDeps, eui: string, deliveries: readonly Delivery[]): Promise<Delivered[]> {
  // Checked up front only so an unknown EUI stores nothing; the transaction checks again.
  if ((await deps.registry.getStation(eui)) === undefined) throw stationNotFound(eui);
  const delivered: Delivered[] = [];
  for (const d of deliveries) {
    delivered.push({ category: d.category, ref: await storeCredential(deps.blobs, eui, d.category, d.blob) });
    await deps.faults?.(`blob-stored:${d.category}`);
  }
  return delivered;
}

/**
 * The transaction's part of a delivery, as a plan for StationRegistry.changeCredentials
 * or for a caller's own transaction (a rollout step, registry/rollout-step.ts).
 * Its result is the state it replaced.
 */
export function credentialPlan(
  deliveries: readonly Delivery[],
  delivered: readonly Delivered[],
  guard?: (current: { readonly station: Station; readonly auth: StationAuth }) => void,
): CredentialPlan<{ station: Station; auth: StationAuth }> {
  return (current) => {
    guard?.(current);
    return { change: changeFor(deliveries, delivered, current.auth), result: current };
  };
}

/** After the commit: the blobs the delivered credentials replaced are no longer referenced. */
export async function deleteReplaced(deps: Pick<CredentialDeps, 'blobs'>, before: Station, delivered: readonly Delivered[]): Promise<void> {
  for (const { category, ref } of delivered) {
    const previous = before.desired[desiredField(category)];
    if (previous !== null && previous.blob !== ref.blob) await deps.blobs.delete('stationcredentials', previous.blob);
  }
}

function changeFor(deliveries: readonly Delivery[], delivered: readonly Delivered[], auth: StationAuth): CredentialChange {
  const change = {
    addCertificates: [] as NewStationCertificate[],
    addTokens: [] as NewStationToken[],
    desired: {} as Record<'cupsCred' | 'tcCred', CredentialRef>,
    startRotations: [] as { category: CredentialCategory; newCrc: number; targetMode: StationAuthMode | null }[],
    events: [] as NewEvent[],
  };
  deliveries.forEach((d, i) => {
    const { ref } = delivered[i] as Delivered;
    // A certificate set again by hand is already on the list (retired ones are refused by the caller's guard).
    const known = auth.certificates.some((c) => c.fingerprint === d.certificate?.fingerprint);
    if (d.certificate !== undefined && !known) change.addCertificates.push({ ...d.certificate, category: d.category, credCrc: ref.crc });
    if (d.token !== undefined) change.addTokens.push({ ...d.token, category: d.category, credCrc: ref.crc });
    change.desired[desiredField(d.category)] = ref;
    if (d.rotation !== undefined) change.startRotations.push({ category: d.category, newCrc: ref.crc, targetMode: d.rotation.targetMode });
    change.events.push({ type: 'config', message: `${d.message} (crc ${ref.crc})`, detail: { category: d.category, crc: ref.crc, size: ref.size } });
  });
  return change;
}

/** After a refused or failed transaction, new blobs nothing points at are removed (best effort: gc finds the rest). */
export async function dropUnreferenced(deps: CredentialDeps, eui: string, delivered: readonly Delivered[]): Promise<void> {
  const station = await deps.registry.getStation(eui).catch(() => undefined);
  for (const { category, ref } of delivered) {
    if (station?.desired[desiredField(category)]?.blob === ref.blob) continue;
    await deps.blobs.delete('stationcredentials', ref.blob).catch(() => undefined);
  }
}

export function stationNotFound(eui: string) {
  return notFound('station_not_found', `station ${eui} is not registered; register it with "bscups station add ${eui}" first`, { eui });
}
