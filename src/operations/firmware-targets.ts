import { parseEui } from '../protocol/index.js';
import type { Station } from '../registry/index.js';
import { audit, authorize, type OperationContext } from './context.js';
import { upgradeFirmware, type FirmwareUpgradeInput, type FirmwareUpgradeResult } from './firmware-upload.js';

/**
 * Stores a signed update (verified over the stored bytes) and targets stations
 * at it in one step, without adding it to the firmware library.
 */
export async function upgradeStationsFirmware(ctx: OperationContext, input: FirmwareUpgradeInput): Promise<FirmwareUpgradeResult> {
  authorize(ctx, 'operator', 'upgrading station firmware');
  const stations = (input.stations ?? []).map((eui) => parseEui(eui, 'station'));
  const result = await upgradeFirmware({ registry: ctx.registry, blobs: ctx.blobs, clock: ctx.clock }, { ...input, stations });
  await audit(ctx, 'firmware.upgrade', result.package, { sha256: result.sha256, size: result.size, keyCrcs: [...result.keyCrcs], stations: [...result.stations] });
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
