import type { StationJson } from '../../actions.js';

/** An API time as a Date, so tables print it as every other time (seconds, Z). */
export function at(iso: string | null | undefined): Date | null {
  return iso === null || iso === undefined ? null : new Date(iso);
}

/** One-line sync summary for tables: "in sync", "pending: …", plus any problem. */
export function syncText(s: StationJson): string {
  if (s.reported === null) return 'never seen';
  const base = s.pending.length === 0 ? 'in sync' : `pending: ${s.pending.join(', ')}`;
  return s.problem === null ? base : `${base}; PROBLEM: ${s.problem}`;
}

/** The JSON shape of a station for --json output: the API's, plus the summary scripts read. */
export function stationView(s: StationJson): Record<string, unknown> {
  return { ...s, inSync: s.reported !== null && s.pending.length === 0, status: syncText(s) };
}

/** One row of the station table. */
export function stationRow(s: StationJson): Record<string, unknown> {
  return {
    eui: s.eui,
    name: s.name,
    model: s.reported?.model,
    package: s.reported?.package,
    'last seen': at(s.lastSeenAt),
    status: syncText(s),
    health: s.health.state.replaceAll('_', ' '),
  };
}

/** The health line of `station show`: the state and why, in words. */
export function healthText(s: StationJson): string {
  return `${s.health.state.replaceAll('_', ' ')}: ${s.health.reason}`;
}
