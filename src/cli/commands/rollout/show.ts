import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

export function register(parent: Command): void {
  parent
    .command('show')
    .description('a rollout: waves with counts (pending, offered, confirmed, failed), gate, halt reason, ETA; --events for its log')
    .argument('<id>', 'rollout id')
    .option('--events', 'also print the rollout event log')
    .action(async (id: string, opts: { events?: boolean }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const v = await actions.showRollout(id);
        out.result(v, () => {
          printRollout(out, v, v.members);
          if (opts.events === true) {
            out.line();
            out.table(v.events.map((e) => ({ at: e.at, type: e.type, station: e.eui ?? '', message: e.message })), ['at', 'type', 'station', 'message']);
          }
        });
      });
    });
}
