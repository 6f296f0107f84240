import type { RolloutSelector } from '../core/rollout.js';
import type { FleetStore, Station } from '../registry/index.js';

const PAGE = 1000;

/**
 * Every station the selector matches, in EUI order, read page by page through
 * the SQL listing (labels, model, package and version filtered in the database);
 * with `changedSince`, only stations registered, changed or reporting something new since then.
 */
export async function selectStations(fleet: FleetStore, selector: RolloutSelector, changedSince?: Date): Promise<Station[]> {
  const wanted = selector.euis === undefined ? undefined : new Set(selector.euis);
  const out: Station[] = [];
  let cursor: string | undefined;
  do {
    const page = await fleet.queryStations({
      labels: selector.labels,
      ...(selector.model === undefined ? {} : { model: selector.model }),
      ...(selector.package === undefined ? {} : { package: selector.package }),
      ...(selector.stationVersion === undefined ? {} : { stationVersion: selector.stationVersion }),
      ...(changedSince === undefined ? {} : { changedSince }),
      sort: 'eui',
      limit: PAGE,
      cursor,
    });
    for (const s of page.items) if (wanted === undefined || wanted.has(s.eui)) out.push(s);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}
