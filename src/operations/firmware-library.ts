import { conflict, invalid, notFound } from '../core/errors.js';
import { isDowngrade } from '../core/versions.js';
import type { FirmwarePackage, FirmwarePackageUse, OperatorRollouts, RolloutStore, Station } from '../registry/index.js';
import { audited, authorize, type OperationContext } from './context.js';
import { storeVerifiedFirmware, validatePackage, type SignedUpdateInput } from './firmware-upload.js';

/** Operations that also need the firmware library and rollouts. */
export interface RolloutContext extends OperationContext {
  readonly rollouts: OperatorRollouts;
  /** Called after a rollout was created or resumed, so an engine in this process evaluates it now rather than at its next interval. */
  readonly rolloutsChanged?: () => void;
  /** The server's rollout policy (`serve --rollouts-need-approval`, `--max-concurrent-downloads`); none: no approval required, no cap known. */
  readonly rolloutPolicy?: RolloutPolicy;
}

/** What the server enforces over every rollout. */
export interface RolloutPolicy {
  /** Every new rollout waits for approval (`--rollouts-need-approval`). */
  readonly needApproval: boolean;
  /** Firmware downloads in flight per server at most (`--max-concurrent-downloads`); null: no cap, or not known here (the local CLI). */
  readonly maxConcurrentDownloads: number | null;
  /** Downloads in flight on this server now; absent where no server streams (the local CLI). */
  readonly downloadsInFlight?: () => number;
}

export interface PackageUpload extends SignedUpdateInput {
  /** Station models (reported `model`) the update is built for; none: any. */
  readonly models?: readonly string[];
}

const MODEL = /^[\x21-\x7e]{1,64}$/;

/**
 * Adds an update to the library: stored once under its hash and verified over
 * the stored bytes (firmware-upload.ts), then recorded by its package version.
 */
export async function uploadPackage(ctx: RolloutContext, input: PackageUpload): Promise<FirmwarePackage & { readonly uploaded: boolean }> {
  authorize(ctx, 'operator', 'uploading firmware');
  const pkg = validatePackage(input.package);
  const models = [...new Set(input.models ?? [])];
  for (const m of models) if (!MODEL.test(m)) throw invalid('invalid_model', `--model must be 1..64 printable characters without spaces, got "${m}"`);
  if ((await ctx.rollouts.getPackage(pkg)) !== undefined) {
    throw conflict('package_exists', `package ${pkg} is already in the firmware library; remove it first (bscups firmware remove ${pkg}) or upload under another version`, { package: pkg });
  }
  const stored = await storeVerifiedFirmware(ctx, {
    ...input,
    storedAs: async (sha256) => (await ctx.rollouts.listPackages()).filter((p) => p.sha256 === sha256).map((p) => p.blob),
  });
  const entry = await ctx.rollouts.addPackage(
    { package: pkg, blob: stored.blob, size: stored.size, sha256: stored.sha256, signatures: stored.signatures, models, createdBy: ctx.actor.name },
    ctx.clock(),
    audited(ctx, 'firmware.upload', pkg, { size: stored.size, sha256: stored.sha256, keyCrcs: stored.signatures.map((s) => s.keyCrc), models }),
  );
  return { ...entry, uploaded: stored.uploaded };
}

export async function listPackages(ctx: RolloutContext): Promise<FirmwarePackage[]> {
  authorize(ctx, 'viewer', 'listing firmware');
  return ctx.rollouts.listPackages();
}

export async function showPackage(ctx: RolloutContext, pkg: string): Promise<FirmwarePackage & { readonly use: FirmwarePackageUse }> {
  authorize(ctx, 'viewer', 'reading firmware');
  const entry = await requirePackage(ctx.rollouts, pkg);
  return { ...entry, use: await ctx.rollouts.packageUse(entry.package) };
}

/** Removes a library entry and its file (unless another entry has the same bytes); refused while anything uses it. */
export async function removePackage(ctx: RolloutContext, pkg: string): Promise<{ readonly package: string; readonly blobDeleted: boolean }> {
  authorize(ctx, 'operator', 'removing firmware');
  const entry = await requirePackage(ctx.rollouts, pkg);
  await ctx.rollouts.removePackage(entry.package, audited(ctx, 'firmware.remove', entry.package));
  const shared = (await ctx.rollouts.listPackages()).some((p) => p.blob === entry.blob);
  if (!shared) await ctx.blobs.delete('fwupgrades', entry.blob);
  return { package: entry.package, blobDeleted: !shared };
}

export async function requirePackage(store: Pick<RolloutStore, 'getPackage'>, pkg: string): Promise<FirmwarePackage> {
  const entry = await store.getPackage(pkg);
  if (entry === undefined) throw notFound('package_not_found', `package ${pkg} is not in the firmware library; upload it with bscups firmware upload --package ${pkg} --file …`, { package: pkg });
  return entry;
}

export interface PackageTargeting {
  readonly package: string;
  readonly stations?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly maxOffers: number;
  readonly allowDowngrade?: boolean;
}

/**
 * Targets stations at a library package. Refused, changing nothing, when a
 * station reports a model the package is not built for, would be downgraded
 * without the flag, or is held by an active rollout (the rollout owns it).
 */
export async function targetPackage(ctx: RolloutContext, input: PackageTargeting): Promise<{ readonly package: string; readonly stations: readonly string[] }> {
  authorize(ctx, 'operator', 'targeting firmware');
  const entry = await requirePackage(ctx.rollouts, input.package);
  if (!Number.isInteger(input.maxOffers) || input.maxOffers < 1) throw invalid('invalid_max_offers', `--max-offers must be a whole number ≥ 1, got "${input.maxOffers}"`);
  const targets = await selectTargets(ctx, input);
  const problems: string[] = [];
  for (const s of targets) {
    const model = s.reported?.model;
    if (entry.models.length > 0 && (model === undefined || !entry.models.includes(model))) problems.push(`${s.eui} reports model ${model ?? '(never seen)'}, package ${entry.package} is built for ${entry.models.join(', ')}`);
    if (input.allowDowngrade !== true && isDowngrade(s.reported?.package ?? null, entry.package)) problems.push(`${s.eui} reports ${s.reported?.package}: a downgrade (pass --allow-downgrade)`);
  }
  if (problems.length > 0) throw invalid('stations_not_eligible', `nothing was targeted: ${problems.join('; ')}`);
  const held = await ctx.rollouts.claims(targets.map((s) => s.eui));
  if (held.size > 0) {
    throw conflict('station_in_rollout', `nothing was targeted: ${[...held].map(([eui, id]) => `${eui} is in active rollout ${id}`).join(', ')}; pause or abort the rollout first`);
  }
  const now = ctx.clock();
  await ctx.registry.setFirmwareTargets(
    targets.map((s) => ({
      eui: s.eui,
      target: { package: entry.package, blob: entry.blob, size: entry.size, sha256: entry.sha256, signatures: entry.signatures, maxOffers: input.maxOffers, fromPackage: s.reported?.package ?? null, requestedAt: now },
      events: [{ type: 'config' as const, message: `firmware target ${entry.package} from the library (sha256 ${entry.sha256.slice(0, 16)}…)` }],
    })),
    now,
    undefined,
    audited(ctx, 'firmware.target', entry.package, { stations: targets.map((s) => s.eui) }),
  );
  return { package: entry.package, stations: targets.map((s) => s.eui) };
}

async function selectTargets(ctx: RolloutContext, input: PackageTargeting): Promise<Station[]> {
  const euis = input.stations ?? [];
  const labels = input.labels ?? {};
  if (euis.length === 0 && Object.keys(labels).length === 0) throw invalid('no_targets', 'say which stations: --station EUI… or --label key=value');
  const byEui = new Map<string, Station>();
  for (const eui of euis) {
    const s = await ctx.registry.getStation(eui);
    if (s === undefined) throw notFound('station_not_found', `station ${eui} is not registered; nothing was changed`);
    byEui.set(eui, s);
  }
  if (Object.keys(labels).length > 0) {
    const found = await ctx.registry.listStations({ labels });
    if (found.length === 0) throw notFound('no_stations', `no station has labels ${JSON.stringify(labels)}; nothing was changed`);
    for (const s of found) byEui.set(s.eui, s);
  }
  return [...byEui.values()];
}
