import { notFound } from '../core/errors.js';
import { parseEui } from '../protocol/index.js';
import type { StationAuth } from '../registry/auth-types.js';
import type { Station } from '../registry/index.js';
import { audited, authorize, type OperationContext } from './context.js';
import { stationNotFound } from './stations.js';

/** Offers a failed (or stuck) upgrade again: state back to pending, offer count reset. */
export async function retryFirmware(ctx: OperationContext, eui: string): Promise<Station> {
  authorize(ctx, 'operator', 'retrying a firmware upgrade');
  const id = parseEui(eui, 'eui');
  const station = await ctx.registry.getStation(id);
  if (station === undefined) throw stationNotFound(id);
  const target = station.firmware;
  if (target === null) throw notFound('no_firmware_target', `station ${id} has no firmware target; target a package first ("bscups firmware upgrade" or a rollout)`, { eui: id });
  await ctx.registry.updateFirmware(
    id,
    { package: target.package, state: 'pending', resetOffers: true, lastError: null },
    audited(ctx, 'firmware.retry', id, { package: target.package, was: target.state }),
  );
  await ctx.registry.appendEvents(id, [{ type: 'config', message: `firmware ${target.package} retry requested` }], ctx.clock());
  return (await ctx.registry.getStation(id)) ?? station;
}

/** How a station authenticates: mode, certificates (fingerprint, expiry), tokens (never their secrets), pending rotations. */
export async function showStationAuth(ctx: OperationContext, eui: string): Promise<StationAuth> {
  authorize(ctx, 'viewer', 'reading station credentials');
  const id = parseEui(eui, 'eui');
  const auth = await ctx.registry.getStationAuth(id);
  if (auth === undefined) throw stationNotFound(id);
  return auth;
}
