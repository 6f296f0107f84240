import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';

export function register(parent: Command): void {
  parent
    .command('rollback')
    .description('set the stations a rollout touched back to their previous configuration; firmware starts a rollout of the previous package (still in the library) and needs --allow-downgrade')
    .argument('<id>', 'rollout id')
    .option('--allow-downgrade', 'firmware: install the previous, lower package')
    .action(async (id: string, opts: { allowDowngrade?: boolean }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const r = await actions.rollbackRollout(id, { allowDowngrade: opts.allowDowngrade === true });
        out.result(r, () => {
          out.line(`rollout ${r.rollout} rolled back`);
          if (r.reverted > 0) out.line(`${r.reverted} station(s) set back to their previous configuration`);
          for (const s of r.skipped) out.line(`${s.eui} left as it is: ${s.reason}`);
          for (const id2 of r.rollouts) out.line(`previous firmware goes back through rollout ${id2} (bscups rollout show ${id2})`);
        });
      });
    });
}
