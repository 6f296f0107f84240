import type { Station } from '../registry/types.js';

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
