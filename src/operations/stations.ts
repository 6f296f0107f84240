import { invalid, notFound } from '../core/errors.js';
import { parseEui, validateCupsUri, validateTcUri } from '../protocol/index.js';
import type { Page, Station } from '../registry/index.js';
import { credentialBlobPrefix } from './credential-blob.js';
import { audited, authorize, healthOf, type OperationContext } from './context.js';
import type { RolloutContext } from './firmware-library.js';
import { checkRolloutClaims, recordForced, type HeldStation } from './rollout-claims.js';
import { toStationQuery, validateLabelKey, validateLabelValue, type StationListInput } from './station-filters.js';

/** Register a station: EUI in any accepted spelling, optional name, labels and URIs. */
export interface StationInput {
  readonly eui: string;
  readonly name?: string | null;
  readonly labels?: Readonly<Record<string, string>>;
  readonly cupsUri?: string | null;
  readonly tcUri?: string | null;
}

/** A change: absent fields stay; a null label value removes that label; null name or URI clears it. */
export interface StationChange {
  readonly name?: string | null;
  readonly labels?: Readonly<Record<string, string | null>>;
  readonly cupsUri?: string | null;
  readonly tcUri?: string | null;
  /** Change a URI even though an active rollout of that URI holds the station (the rollout records it). */
  readonly force?: boolean;
  /**
   * With tcUri: if the station's health turns lns_failing once it has the new TC
   * URI, the one it had before is put back at its next exchange (registry/revert).
   */
  readonly revertUnhealthy?: boolean;
}

export function stationNotFound(eui: string) {
  return notFound('station_not_found', `Station ${eui} is not registered; check the EUI or register the station first.`, { eui });
}

function checkLabels<T extends string | null>(labels: Readonly<Record<string, T>>): Record<string, T> {
  for (const [key, value] of Object.entries(labels)) {
    validateLabelKey(key);
    if (value !== null) validateLabelValue(key, value);
  }
  return { ...labels };
}

/** "labels set site=north, removed tier" for a station's events; empty when nothing changed. */
export function labelEdits(labels: Readonly<Record<string, string | null>> | undefined): string[] {
  const entries = Object.entries(labels ?? {});
  const set = entries.filter(([, v]) => v !== null).map(([k, v]) => `${k}=${String(v)}`);
  const removed = entries.filter(([, v]) => v === null).map(([k]) => k);
  const parts = [...(set.length > 0 ? [`set ${set.join(', ')}`] : []), ...(removed.length > 0 ? [`removed ${removed.join(', ')}`] : [])];
  return parts.length === 0 ? [] : [`labels ${parts.join('; ')}`];
}

function uris(change: { readonly cupsUri?: string | null; readonly tcUri?: string | null }) {
  return {
    ...(change.cupsUri === undefined ? {} : { cupsUri: change.cupsUri === null ? null : validateCupsUri(change.cupsUri, 'cupsUri') }),
    ...(change.tcUri === undefined ? {} : { tcUri: change.tcUri === null ? null : validateTcUri(change.tcUri, 'tcUri') }),
  };
}

export async function listStations(ctx: OperationContext, input: StationListInput): Promise<Page<Station>> {
  authorize(ctx, 'viewer', 'listing stations');
  return ctx.fleet.queryStations(toStationQuery(input, ctx.clock(), healthOf(ctx)));
}

/** How many stations the filters of a listing match (the dashboard's total). */
export async function countStations(ctx: OperationContext, input: StationListInput): Promise<number> {
  authorize(ctx, 'viewer', 'counting stations');
  const { limit: _limit, cursor: _cursor, ...query } = toStationQuery({ ...input, cursor: undefined }, ctx.clock(), healthOf(ctx));
  return ctx.fleet.countStations(query);
}

export async function showStation(ctx: OperationContext, eui: string): Promise<Station> {
  authorize(ctx, 'viewer', 'reading a station');
  const id = parseEui(eui, 'eui');
  const station = await ctx.registry.getStation(id);
  if (station === undefined) throw stationNotFound(id);
  return station;
}

export async function registerStation(ctx: OperationContext, input: StationInput): Promise<Station> {
  authorize(ctx, 'operator', 'registering a station');
  const eui = parseEui(input.eui, 'eui');
  const labels = checkLabels(input.labels ?? {});
  const desired = uris(input);
  const name = input.name ?? null;
  const station = await ctx.registry.createStation({ eui, name, labels, desired }, audited(ctx, 'station.create', eui, { name, labels, ...desired }));
  await ctx.registry.appendEvents(eui, [{ type: 'config', message: 'station registered' }], ctx.clock());
  return station;
}

/**
 * Changes a station. A URI an active rollout of that URI holds the station for
 * is refused (checkRolloutClaims) unless `force`, and then recorded in the rollout.
 */
export async function changeStation(ctx: RolloutContext, eui: string, change: StationChange): Promise<Station> {
  authorize(ctx, 'operator', 'changing a station');
  const id = parseEui(eui, 'eui');
  const labels = change.labels === undefined ? undefined : checkLabels(change.labels);
  const desired = uris(change);
  if (change.revertUnhealthy === true && (!('tcUri' in desired) || desired.tcUri === null)) {
    throw invalid('revert_not_possible', '--revert-unhealthy guards a TC URI change: give --tc-uri URI with it');
  }
  if (change.name === undefined && (labels === undefined || Object.keys(labels).length === 0) && Object.keys(desired).length === 0) {
    throw invalid('nothing_to_set', 'nothing to change: give a name, labels, a CUPS URI or a TC URI');
  }
  const held: HeldStation[] = [];
  for (const kind of ['tcUri', 'cupsUri'] as const) {
    if (kind in desired) held.push(...(await checkRolloutClaims(ctx, [id], { kind }, `setting the ${kind === 'tcUri' ? 'TC' : 'CUPS'} URI of station ${id}`, change.force === true)));
  }
  const station = await ctx.registry.updateStation(
    id,
    {
      ...(change.name === undefined ? {} : { name: change.name === '' ? null : change.name }),
      ...(labels === undefined ? {} : { labels }),
      desired,
      ...(change.revertUnhealthy === true ? { revertUnhealthy: { by: ctx.actor.name } } : {}),
    },
    audited(ctx, 'station.update', id, {
      ...(change.name === undefined ? {} : { name: change.name }),
      ...(labels === undefined ? {} : { labels }),
      ...desired,
      ...(change.revertUnhealthy === true ? { revertUnhealthy: true } : {}),
      ...(held.length === 0 ? {} : { forcedOver: held.map((h) => h.rollout.id) }),
    }),
  );
  const changed = Object.entries(desired).map(([k, v]) => `${k}=${String(v)}`);
  // Name and label edits are the operator's too: the station's history shows them beside the URI changes.
  const edits = [...(change.name === undefined ? [] : [`name ${change.name === null || change.name === '' ? 'cleared' : JSON.stringify(change.name)}`]), ...labelEdits(labels)];
  const guarded = change.revertUnhealthy === true ? ' (--revert-unhealthy: the previous TC URI is put back if its health turns lns_failing with this one)' : '';
  const messages = [...(changed.length > 0 ? [`desired ${changed.join(', ')}${guarded}`] : []), ...edits];
  if (messages.length > 0) await ctx.registry.appendEvents(id, messages.map((message) => ({ type: 'config', message })), ctx.clock());
  await recordForced(ctx, held, `desired ${changed.join(', ')}`);
  return station;
}

/** Unregisters a station and deletes its credential blobs; shared firmware files stay. */
export async function removeStation(ctx: OperationContext, eui: string): Promise<{ eui: string; blobsDeleted: number }> {
  authorize(ctx, 'operator', 'removing a station');
  const id = parseEui(eui, 'eui');
  // Listed first: a blob store that cannot be reached then stops before the station is gone.
  const names = await ctx.blobs.list('stationcredentials', credentialBlobPrefix(id));
  const removed = await ctx.registry.removeStation(id, (gone) => (gone ? audited(ctx, 'station.remove', id, { credentialBlobs: names.length }) : null));
  if (!removed) throw stationNotFound(id);
  for (const name of names) await ctx.blobs.delete('stationcredentials', name);
  return { eui: id, blobsDeleted: names.length };
}
