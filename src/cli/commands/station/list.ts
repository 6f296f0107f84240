import type { Command } from 'commander';
import { SYNC_STATES } from '../../../core/sync-status.js';
import { HEALTH_STATES } from '../../../core/health.js';
import { COMPLIANCE_STATES } from '../../../core/compliance.js';
import type { StationJson } from '../../actions.js';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { stationRow, stationView } from './view.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('list stations with model, package, last contact, and whether they are in sync or what is pending; filtered and paged like GET /api/v1/stations')
    .option('--label <selector>', 'k=v, k!=v (also stations without k), k (has k) or !k (lacks k); repeatable, all must hold', collect)
    .option('--state <state>', `sync state, repeatable or comma-separated: ${SYNC_STATES.join(', ')}`, collect)
    .option('--silent <duration>', 'only stations seen before but not for this long, e.g. 26h or 7d')
    .option('--health <state>', `gateway health from the rhythm of its CUPS calls, repeatable or comma-separated: ${HEALTH_STATES.join(', ')}`, collect)
    .option('--cert-expiring <duration>', 'only stations whose CUPS client certificate expires within this, e.g. 30d (expired ones included)')
    .option('--compliance <state>', `firmware compliance against the newest library package for the station's model, repeatable or comma-separated: ${COMPLIANCE_STATES.join(', ')}`, collect)
    .option('--model <model>', 'reported model, e.g. rpi')
    .option('--package <version>', 'reported package (version.txt)')
    .option('--station-version <prefix>', 'reported station version prefix, e.g. 2.0.6')
    .option('-q, --search <text>', 'substring of the EUI or the name')
    .option('--sort <key>', 'eui (default), name or lastSeen')
    .option('--desc', 'sort descending')
    .option('--limit <n>', 'one page of this many stations (1..1000), with the cursor of the next on stderr; default: all', (v) => Number(v))
    .option('--cursor <cursor>', 'the cursor printed after the previous page')
    .action(async (opts: { label?: string[]; state?: string[]; silent?: string; health?: string[]; compliance?: string[]; certExpiring?: string; model?: string; package?: string; stationVersion?: string; search?: string; sort?: string; desc?: boolean; limit?: number; cursor?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const { search, desc, stationVersion, ...filters } = opts;
        const input = { ...filters, ...(stationVersion === undefined ? {} : { version: stationVersion }), ...(search === undefined ? {} : { q: search }), ...(desc === true ? { order: 'desc' } : {}) };
        // Without --limit every page is fetched, as scripts written before paging expect; with it, one page.
        const all = opts.limit === undefined;
        const stations: StationJson[] = [];
        let page = await actions.listStations(all ? { ...input, limit: 1000 } : input);
        stations.push(...page.items);
        while (all && page.nextCursor !== null) {
          page = await actions.listStations({ ...input, limit: 1000, cursor: page.nextCursor });
          stations.push(...page.items);
        }
        out.result(stations.map(stationView), () =>
          out.table(stations.map(stationRow), ['eui', 'name', 'model', 'package', 'last seen', 'status', 'health']),
        );
        if (!all && page.nextCursor !== null) out.note(`more stations: --cursor ${page.nextCursor}`);
      });
    });
}
