import type { Command } from 'commander';
import { describeChange } from '../../../core/rollout.js';
import { listRollouts } from '../../../operations/rollouts.js';
import { rolloutJson } from '../../../http/admin/rollout-views.js';
import { collect } from '../../context.js';
import { runRolloutOperation } from '../../rollout-context.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('rollouts, most recent first')
    .option('--state <state>', 'only rollouts in this state (running, paused, halted, completed, aborted, rolled_back); repeatable', collect)
    .action(async (opts: { state?: string[] }, cmd: Command) => {
      await runRolloutOperation(cmd, async (ctx, out) => {
        const views = await listRollouts(ctx, opts.state);
        out.result(views.map(rolloutJson), () =>
          out.table(
            views.map(({ rollout: r, progress: p }) => ({
              id: r.id,
              change: describeChange(r.change),
              state: r.state,
              wave: `${r.wave}/${r.waveSizes.length}`,
              confirmed: p.totals.confirmed,
              failed: p.totals.failed,
              gate: p.gate,
            })),
            ['id', 'change', 'state', 'wave', 'confirmed', 'failed', 'gate'],
          ),
        );
      });
    });
}
