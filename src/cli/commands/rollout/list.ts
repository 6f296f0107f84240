import type { Command } from 'commander';
import type { z } from 'zod';
import type { Rollout } from '../../../http/admin/rollout-schemas.js';
import { ROLLOUT_STATES } from '../../../core/rollout.js';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { changeText } from './print.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('rollouts, most recent first, with their counts (read from an aggregate, not member by member)')
    .option('--state <state>', `only rollouts in this state (${ROLLOUT_STATES.join(', ')}); repeatable or comma-separated`, collect)
    .option('--limit <n>', 'one page of this many rollouts (1..1000), with the cursor of the next on stderr; default: all', (v) => Number(v))
    .option('--cursor <cursor>', 'the cursor printed after the previous page')
    .action(async (opts: { state?: string[]; limit?: number; cursor?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        // Without --limit every page is fetched, as scripts written before paging expect; with it, one page.
        const all = opts.limit === undefined;
        const rollouts: z.infer<typeof Rollout>[] = [];
        let page = await actions.listRollouts(all ? { ...opts, limit: 1000 } : opts);
        rollouts.push(...page.items);
        while (all && page.nextCursor !== null) {
          page = await actions.listRollouts({ ...opts, limit: 1000, cursor: page.nextCursor });
          rollouts.push(...page.items);
        }
        out.result(rollouts, () =>
          out.table(
            rollouts.map((r) => ({
              id: r.id,
              change: changeText(r),
              state: r.state,
              wave: `${r.wave}/${r.waves.length}`,
              confirmed: r.totals.confirmed,
              failed: r.totals.failed,
              gate: r.gate,
            })),
            ['id', 'change', 'state', 'wave', 'confirmed', 'failed', 'gate'],
          ),
        );
        if (!all && page.nextCursor !== null) out.note(`more rollouts: --cursor ${page.nextCursor}`);
      });
    });
}
