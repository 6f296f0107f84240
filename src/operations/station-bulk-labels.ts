import { invalid, isCupsError } from '../core/errors.js';
import { audited, authorize, healthOf, type OperationContext } from './context.js';
import { toStationQuery, validateLabelKey, validateLabelValue, type StationListInput } from './station-filters.js';
import { labelEdits } from './stations.js';

/** Labels to set (k=v) and to remove (k) on every station a filter matches. */
export interface BulkLabelChange {
  readonly set?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

/** More than this is a filter mistake rather than an intent: the operator narrows it or uses import. */
export const BULK_LABEL_LIMIT = 10_000;
const PAGE = 1000;

/**
 * Sets and removes labels on every station the listing filters match (the
 * dashboard's bulk action). The matching EUIs are read first, then each
 * station's labels are merged, never replaced, so labels the change does not
 * name stay, and an edit made meanwhile is not undone. One event per station,
 * one audit entry per station changed, with the filter that chose it.
 */
export async function labelStations(ctx: OperationContext, filter: StationListInput, change: BulkLabelChange): Promise<{ stations: number }> {
  authorize(ctx, 'operator', 'labelling stations');
  const set = change.set ?? {};
  const remove = change.remove ?? [];
  for (const [k, v] of Object.entries(set)) {
    validateLabelKey(k);
    validateLabelValue(k, v);
  }
  for (const k of remove) {
    validateLabelKey(k);
    if (k in set) throw invalid('invalid_label', `label ${k} is both set and removed; give it once`, { field: 'remove' });
  }
  if (Object.keys(set).length === 0 && remove.length === 0) throw invalid('nothing_to_set', 'nothing to change: give labels to set or to remove');
  const { cursor: _c, ...base } = filter;
  const euis: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await ctx.fleet.queryStations(toStationQuery({ ...base, sort: 'eui', order: 'asc', limit: PAGE, ...(cursor === undefined ? {} : { cursor }) }, ctx.clock(), healthOf(ctx)));
    euis.push(...page.items.map((s) => s.eui));
    if (euis.length > BULK_LABEL_LIMIT) throw invalid('too_many_stations', `the filter matches more than ${BULK_LABEL_LIMIT} stations; narrow it, or change labels with "bscups station import"`);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  const labels: Record<string, string | null> = { ...set, ...Object.fromEntries(remove.map((k) => [k, null])) };
  const message = labelEdits(labels);
  let changed = 0;
  for (const eui of euis) {
    try {
      // One audit row per station, in the transaction that changes it (with the filter that chose it).
      await ctx.registry.updateStation(eui, { labels }, audited(ctx, 'station.label', eui, { filter: { ...base }, set, remove: [...remove] }));
    } catch (e) {
      // Removed since it was listed: nothing left to label.
      if (isCupsError(e) && e.code === 'station_not_found') continue;
      throw e;
    }
    await ctx.registry.appendEvents(eui, message.map((m) => ({ type: 'config', message: m })), ctx.clock());
    changed++;
  }
  return { stations: changed };
}
