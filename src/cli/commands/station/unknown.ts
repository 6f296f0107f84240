import type { Command } from 'commander';
import type { OperatorActions } from '../../actions.js';
import { runActions } from '../../run-actions.js';
import { at } from './view.js';

type UnknownJson = Awaited<ReturnType<OperatorActions['unknownStations']>>['items'][number];

export function register(parent: Command): void {
  parent
    .command('unknown')
    .description(
      'EUIs that asked for updates but are not registered, most recent first (register them with "station add"); ' +
        'the server remembers at most serve --unknown-stations-max of them, the longest silent forgotten first',
    )
    .option('--limit <n>', 'one page of this many (1..1000), with the cursor of the next on stderr; default: all', (v) => Number(v))
    .option('--cursor <cursor>', 'the cursor printed after the previous page')
    .action(async (opts: { limit?: number; cursor?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        // Without --limit every page is fetched, as scripts written before paging expect; with it, one page.
        const all = opts.limit === undefined;
        const unknown: UnknownJson[] = [];
        const first = { ...(all ? { limit: 1000 } : { limit: opts.limit }), ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) };
        let page = await actions.unknownStations(first);
        unknown.push(...page.items);
        while (all && page.nextCursor !== null) {
          page = await actions.unknownStations({ limit: 1000, cursor: page.nextCursor });
          unknown.push(...page.items);
        }
        out.result(unknown, () =>
          out.table(
            unknown.map((u) => ({
              eui: u.eui,
              requests: u.count,
              'first seen': at(u.firstSeenAt),
              'last seen': at(u.lastSeenAt),
              from: u.lastRemoteAddress,
              model: u.lastRequest['model'],
              package: u.lastRequest['package'],
            })),
            ['eui', 'requests', 'first seen', 'last seen', 'from', 'model', 'package'],
          ),
        );
        if (!all && page.nextCursor !== null) out.note(`more unknown stations: --cursor ${page.nextCursor}`);
      });
    });
}
