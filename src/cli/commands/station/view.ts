import { formatId6 } from '../../../protocol/index.js';
import { pendingParts, syncSummary } from '../../../core/sync-status.js';
import type { Station } from '../../../registry/types.js';

/** The JSON shape of a station for --json output (stable for scripts). */
export function stationView(s: Station): Record<string, unknown> {
  return {
    eui: s.eui,
    id6: formatId6(s.eui),
    name: s.name,
    labels: s.labels,
    desired: s.desired,
    reported: s.reported,
    lastSeenAt: s.lastSeenAt,
    lastRemoteAddress: s.lastRemoteAddress,
    firmware: s.firmware,
    problem: s.problem,
    pending: pendingParts(s),
    inSync: s.reported !== null && pendingParts(s).length === 0,
    status: syncSummary(s),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** One row of the station table. */
export function stationRow(s: Station): Record<string, unknown> {
  return {
    eui: s.eui,
    name: s.name,
    model: s.reported?.model,
    package: s.reported?.package,
    'last seen': s.lastSeenAt,
    status: syncSummary(s),
  };
}
