import { parseEui } from '../protocol/index.js';
import type { Station } from '../registry/index.js';
import { audited, authorize, type OperationContext } from './context.js';
import type { RolloutContext } from './firmware-library.js';
import { upgradeFirmware, type FirmwareUpgradeInput, type FirmwareUpgradeResult } from './firmware-upload.js';
import { checkRolloutClaims, recordForced } from './rollout-claims.js';

/**
 * Stores a signed update (verified over the stored bytes) and targets stations
 * at it in one step, without adding it to the firmware library. A station an
 * active firmware rollout holds is refused (nothing is stored) unless `force`.
 */
export async function upgradeStationsFirmware(ctx: RolloutContext, input: FirmwareUpgradeInput & { readonly force?: boolean }): Promise<FirmwareUpgradeResult> {
  authorize(ctx, 'operator', 'upgrading station firmware');
  const stations = (input.stations ?? []).map((eui) => parseEui(eui, 'station'));
  const labelled = input.labels === undefined || Object.keys(input.labels).length === 0 ? [] : (await ctx.registry.listStations({ labels: input.labels })).map((s) => s.eui);
  const held = await checkRolloutClaims(ctx, [...new Set([...stations, ...labelled])], { kind: 'firmware' }, `upgrading firmware to ${input.package}`, input.force === true);
  const result = await upgradeFirmware({ registry: ctx.registry, blobs: ctx.blobs, clock: ctx.clock }, { ...input, stations }, (r) =>
    audited(ctx, 'firmware.upgrade', r.package, { sha256: r.sha256, size: r.size, keyCrcs: [...r.keyCrcs], stations: [...r.stations], ...(held.length === 0 ? {} : { forcedOver: held.map((h) => h.rollout.id) }) }),
  );
  await recordForced(ctx, held, `firmware upgrade to ${result.package}`);
  return result;
}

export interface FirmwareStatusInput {
  /** Only these stations (any spelling of the EUI). */
  readonly stations?: readonly string[];
  /** Only stations carrying all of these labels. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The stations with a firmware target, with its state, offers and last error. */
export async function firmwareStatus(ctx: OperationContext, input: FirmwareStatusInput): Promise<Station[]> {
  authorize(ctx, 'viewer', 'reading firmware status');
  const only = new Set((input.stations ?? []).map((eui) => parseEui(eui, 'station')));
  const stations = await ctx.registry.listStations({ labels: input.labels ?? {} });
  return stations.filter((s) => s.firmware !== null && (only.size === 0 || only.has(s.eui)));
}
