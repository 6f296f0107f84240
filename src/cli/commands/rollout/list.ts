import type { Command } from 'commander';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { changeText } from './print.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('rollouts, most recent first')
    .option('--state <state>', 'only rollouts in this state (running, paused, halted, completed, aborted, rolled_back); repeatable', collect)
    .action(async (opts: { state?: string[] }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const rollouts = await actions.listRollouts(opts.state);
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
      });
    });
}
