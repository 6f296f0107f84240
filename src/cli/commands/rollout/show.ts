import type { Command } from 'commander';
import { showRollout } from '../../../operations/rollouts.js';
import { memberJson, rolloutEventJson, rolloutJson } from '../../../http/admin/rollout-views.js';
import { runRolloutOperation } from '../../rollout-context.js';
import { printRollout } from './print.js';

export function register(parent: Command): void {
  parent
    .command('show')
    .description('a rollout: waves with counts (pending, offered, confirmed, failed), gate, halt reason, ETA; --events for its log')
    .argument('<id>', 'rollout id')
    .option('--events', 'also print the rollout event log')
    .action(async (id: string, opts: { events?: boolean }, cmd: Command) => {
      await runRolloutOperation(cmd, async (ctx, out) => {
        const v = await showRollout(ctx, id);
        out.result({ ...rolloutJson(v), members: v.members.map(memberJson), events: v.events.map(rolloutEventJson) }, () => {
          printRollout(out, v, v.members);
          if (opts.events === true) {
            out.line();
            out.table(v.events.map((e) => ({ at: e.at.toISOString(), type: e.type, station: e.eui ?? '', message: e.message })), ['at', 'type', 'station', 'message']);
          }
        });
      });
    });
}
