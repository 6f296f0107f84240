import type { Command } from 'commander';
import { runActions } from '../run-actions.js';
import { at } from './station/view.js';

export function register(program: Command): void {
  program
    .command('audit')
    .description('the audit log: who changed what, when and from where, most recent first (never secrets)')
    .option('--action <action>', 'only this action, e.g. station.update or apikey.create')
    .option('--actor <name>', 'only changes by this key name (or local:<user>)')
    .option('--target <target>', 'only changes to this EUI or key id')
    .option('--since <time>', 'ISO 8601, inclusive')
    .option('--until <time>', 'ISO 8601, exclusive')
    .option('--limit <n>', 'entries per page (1..1000, default 50)', (v) => Number(v))
    .option('--cursor <cursor>', 'the cursor printed after the previous page')
    .action(async (opts: { action?: string; actor?: string; target?: string; since?: string; until?: string; limit?: number; cursor?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const page = await actions.listAudit(opts);
        out.result(page.items, () =>
          out.table(
            page.items.map((e) => ({ at: at(e.at), actor: e.actor, role: e.role, via: e.via, from: e.remoteAddress, action: e.action, target: e.target, detail: e.detail })),
            ['at', 'actor', 'role', 'via', 'from', 'action', 'target', 'detail'],
          ),
        );
        if (page.nextCursor !== null) out.note(`more entries: --cursor ${page.nextCursor}`);
      });
    });
}
