import type { Station } from './model.js';

/**
 * What a station still has to receive, judged from its last report:
 * empty means in sync. Before any report, everything desired is pending.
 */
export function pendingParts(station: Station): string[] {
  const { desired, reported, firmware } = station;
  const pending: string[] = [];
  if (desired.cupsUri !== null && desired.cupsUri !== reported?.cupsUri) pending.push('cupsUri');
  if (desired.tcUri !== null && desired.tcUri !== reported?.tcUri) pending.push('tcUri');
  if (desired.cupsCred !== null && desired.cupsCred.crc !== reported?.cupsCredCrc) pending.push('cupsCred');
  if (desired.tcCred !== null && desired.tcCred.crc !== reported?.tcCredCrc) pending.push('tcCred');
  if (firmware !== null && firmware.state !== 'upgraded') {
    pending.push(`firmware ${firmware.package} (${firmware.state}${firmware.state === 'failed' ? '' : `, ${firmware.offers}/${firmware.maxOffers} offers`})`);
  }
  return pending;
}

/** One-line sync summary for tables: "in sync", "pending: …", plus any problem. */
export function syncSummary(station: Station): string {
  if (station.reported === null) return 'never seen';
  const pending = pendingParts(station);
  const base = pending.length === 0 ? 'in sync' : `pending: ${pending.join(', ')}`;
  return station.problem === null ? base : `${base}; PROBLEM: ${station.problem}`;
}

/**
 * The one state a station is counted under in listings and the fleet summary,
 * the most urgent first: an operator looks at a problem before a pending
 * upgrade. The registry mirrors this in SQL (registry/sync-state-sql.ts); a test
 * checks both agree on the same stations.
 */
export const SYNC_STATES = ['never_seen', 'problem', 'failed', 'pending_config', 'offered', 'pending_firmware', 'in_sync'] as const;
export type SyncState = (typeof SYNC_STATES)[number];

export function syncState(station: Station): SyncState {
  if (station.reported === null) return 'never_seen';
  if (station.problem !== null) return 'problem';
  const firmware = station.firmware?.state;
  if (firmware === 'failed') return 'failed';
  if (configPending(station)) return 'pending_config';
  if (firmware === 'offered') return 'offered';
  if (firmware === 'pending') return 'pending_firmware';
  return 'in_sync';
}

/** Whether a URI or credential the operator set is not yet what the station reports. */
function configPending(station: Station): boolean {
  return pendingParts({ ...station, firmware: null }).length > 0;
}
