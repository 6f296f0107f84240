import type { BlobStore, ContainerName } from '../blobs/types.js';
import { invalid } from '../core/errors.js';
import type { Role } from '../core/roles.js';
import { auditOutsideRegistry, authorize } from './context.js';
import type { RolloutContext } from './firmware-library.js';
import type { RolloutStore } from '../registry/rollout-types.js';
import type { StationRegistry } from '../registry/types.js';

export interface BlobsGcDeps {
  readonly registry: Pick<StationRegistry, 'listStations'>;
  /** The firmware library: its packages are in use while listed, targeted or not. */
  readonly library: Pick<RolloutStore, 'listPackages'>;
  /** Rollouts: the TC credentials a revert may still give back are in use (optional for callers without rollouts). */
  readonly rollouts?: Pick<RolloutStore, 'revertableCredentialBlobs'>;
  readonly blobs: BlobStore;
  readonly clock: () => Date;
}

export interface BlobsGcInput {
  /** Delete what is found; otherwise only list it (the default). */
  readonly delete?: boolean;
  /**
   * Leave blobs younger than this alone: an upload stores its blob before it
   * targets stations (and a credential blob before the desired state names it),
   * so a fresh unreferenced blob may be an operation still running.
   */
  readonly minAgeMs: number;
}

export interface UnusedBlob {
  readonly container: ContainerName;
  readonly name: string;
  readonly size: number;
  readonly lastModified: Date;
  /** Why it is garbage. */
  readonly reason: string;
  readonly deleted: boolean;
}

export interface BlobsGcResult {
  readonly dryRun: boolean;
  readonly blobs: readonly UnusedBlob[];
  readonly bytes: number;
}

const REASONS: Record<ContainerName, string> = {
  fwupgrades: 'no station targets it and no library package holds it',
  stationcredentials: "no station's desired credential, and no rollout may give it back",
};

/**
 * Finds stored firmware no station targets and no library package holds, and credential blobs no station's
 * desired state names (left by removed targets, replaced credentials or a crash
 * between storing a blob and the transaction that would have used it), and
 * deletes them with `delete`. References are read again just before deleting,
 * so a blob targeted meanwhile is kept.
 */
export async function collectUnusedBlobs(deps: BlobsGcDeps, input: BlobsGcInput): Promise<BlobsGcResult> {
  if (!Number.isFinite(input.minAgeMs) || input.minAgeMs < 0) throw invalid('invalid_min_age', `minimum age must be ≥ 0 ms, got ${input.minAgeMs}`);
  const cutoff = deps.clock().getTime() - input.minAgeMs;
  let used = await referenced(deps);
  const found: Omit<UnusedBlob, 'deleted'>[] = [];
  for (const container of ['fwupgrades', 'stationcredentials'] as const) {
    for (const name of await deps.blobs.list(container)) {
      if (used[container].has(name)) continue;
      const info = await deps.blobs.stat(container, name);
      if (info === undefined || info.lastModified.getTime() > cutoff) continue;
      found.push({ container, name, size: info.size, lastModified: info.lastModified, reason: REASONS[container] });
    }
  }
  if (input.delete === true && found.length > 0) used = await referenced(deps);
  const blobs: UnusedBlob[] = [];
  for (const b of found) {
    const remove = input.delete === true && !used[b.container].has(b.name);
    blobs.push({ ...b, deleted: remove ? await deps.blobs.delete(b.container, b.name) : false });
  }
  return { dryRun: input.delete !== true, blobs, bytes: blobs.reduce((n, b) => n + b.size, 0) };
}

async function referenced(deps: BlobsGcDeps): Promise<Record<ContainerName, Set<string>>> {
  const used: Record<ContainerName, Set<string>> = { fwupgrades: new Set(), stationcredentials: new Set() };
  for (const p of await deps.library.listPackages()) used.fwupgrades.add(p.blob);
  for (const s of await deps.registry.listStations()) {
    if (s.firmware !== null) used.fwupgrades.add(s.firmware.blob);
    for (const ref of [s.desired.cupsCred, s.desired.tcCred]) if (ref !== null) used.stationcredentials.add(ref.blob);
  }
  // Read after the stations: a rotation's offer moves the credential it replaces from the station's desired
  // state to its member's record in one transaction, so one of the two reads sees it (a revert moves it back,
  // the member staying `reverting`, so the second read sees it then too).
  for (const blob of (await deps.rollouts?.revertableCredentialBlobs()) ?? []) used.stationcredentials.add(blob);
  return used;
}

/** `30m`, `1h`, `0s`: how old an unused blob must be to be collected. */
export function parseMinAge(text: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (m === null) throw invalid('invalid_min_age', `--min-age must be a number with s, m, h or d (e.g. 30m, 1h, 0s), got "${text}"`, { field: '--min-age' });
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** The role deleting unused blobs needs (listing them needs only viewer); the API document states it from here. */
export const BLOBS_GC_DELETE_ROLE: Role = 'operator';

/** `blobs gc` for an operator: a dry run by default; what `delete` removed is audited. */
export async function collectBlobs(ctx: RolloutContext, input: { readonly delete?: boolean; readonly minAge?: string }): Promise<BlobsGcResult> {
  authorize(ctx, input.delete === true ? BLOBS_GC_DELETE_ROLE : 'viewer', input.delete === true ? 'deleting unused blobs' : 'listing unused blobs');
  const minAgeMs = parseMinAge(input.minAge ?? '1h');
  const r = await collectUnusedBlobs({ registry: ctx.registry, library: ctx.rollouts, rollouts: ctx.rollouts, blobs: ctx.blobs, clock: ctx.clock }, { delete: input.delete === true, minAgeMs });
  if (input.delete === true) {
    const deleted = r.blobs.filter((b) => b.deleted);
    // Blob files are not in the registry's database: this row has a transaction of its own.
    await auditOutsideRegistry(ctx, 'blobs.gc', null, { deleted: deleted.length, bytes: deleted.reduce((n, b) => n + b.size, 0), minAge: input.minAge ?? '1h' });
  }
  return r;
}
