import type { Command } from 'commander';
import type { z } from 'zod';
import type { RolloutEvent } from '../../../http/admin/rollout-schemas.js';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

/** Failed and skipped stations printed under the counts; the rest with `rollout members`. */
const NOTABLE = 50;

export function register(parent: Command): void {
  parent
    .command('show')
    .description('a rollout: waves with counts (pending, offered, confirmed, failed), gate, halt reason, ETA, the first failed or skipped stations; --events for its log')
    .argument('<id>', 'rollout id')
    .option('--events', 'also print the rollout event log')
    .action(async (id: string, opts: { events?: boolean }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const v = await actions.showRollout(id);
        // The same in --json as for people: the first failed or skipped stations, and with --events the log.
        const notable = await actions.rolloutMembers(id, { state: ['failed', 'skipped'], limit: NOTABLE });
        const events: z.infer<typeof RolloutEvent>[] = [];
        if (opts.events === true) {
          let page = await actions.rolloutEvents(id, { limit: 1000 });
          events.push(...page.items);
          while (page.nextCursor !== null) {
            page = await actions.rolloutEvents(id, { limit: 1000, cursor: page.nextCursor });
            events.push(...page.items);
          }
        }
        const json = {
          ...v,
          firstFailedOrSkipped: notable.items,
          moreFailedOrSkipped: notable.nextCursor !== null,
          ...(opts.events === true ? { events } : {}),
        };
        out.result(json, () => {
          printRollout(out, v, notable.items);
          if (notable.nextCursor !== null) out.line(`… more: bscups rollout members ${id} --state failed,skipped`);
          if (opts.events === true) {
            out.line();
            out.table(events.map((e) => ({ at: e.at, type: e.type, station: e.eui ?? '', message: e.message })), ['at', 'type', 'station', 'message']);
          }
        });
      });
    });
}
