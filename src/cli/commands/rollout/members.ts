import type { Command } from 'commander';
import type { z } from 'zod';
import type { RolloutMember } from '../../../http/admin/rollout-schemas.js';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';

export function register(parent: Command): void {
  parent
    .command('members')
    .description("a rollout's stations in EUI order with their state and reason, optionally only some states (failed: failed and lost) or one wave")
    .argument('<id>', 'rollout id')
    .option('--state <state>', 'pending, offered, confirmed, failed, skipped or reverted; repeatable or comma-separated', collect)
    .option('--wave <n>', 'only this wave', (v) => Number(v))
    .option('--limit <n>', 'one page of this many stations (1..1000), with the cursor of the next on stderr; default: all', (v) => Number(v))
    .option('--cursor <cursor>', 'the cursor printed after the previous page')
    .action(async (id: string, opts: { state?: string[]; wave?: number; limit?: number; cursor?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const all = opts.limit === undefined;
        const members: z.infer<typeof RolloutMember>[] = [];
        let page = await actions.rolloutMembers(id, all ? { ...opts, limit: 1000 } : opts);
        members.push(...page.items);
        while (all && page.nextCursor !== null) {
          page = await actions.rolloutMembers(id, { ...opts, limit: 1000, cursor: page.nextCursor });
          members.push(...page.items);
        }
        out.result(members, () =>
          out.table(
            members.map((m) => ({ station: m.eui, wave: m.wave, state: m.state, offered: m.offeredAt ?? '', done: m.doneAt ?? '', reason: m.reason ?? '', revert: m.revert === null || m.revert === undefined ? '' : `${m.revert.state}: ${m.revert.reason}` })),
            members.some((m) => m.revert !== null && m.revert !== undefined) ? ['station', 'wave', 'state', 'offered', 'done', 'reason', 'revert'] : ['station', 'wave', 'state', 'offered', 'done', 'reason'],
          ),
        );
        if (!all && page.nextCursor !== null) out.note(`more members: --cursor ${page.nextCursor}`);
      });
    });
}
