import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

export function register(parent: Command): void {
  parent
    .command('retry')
    .description('offer the change again to failed members: a new offer (firmware: a new offer count) and deadline, under the same gates; a halted or completed rollout runs again, a paused one waits for resume')
    .argument('<id>', 'rollout id')
    .option('--station <eui...>', 'only these failed members (default: every failed member)')
    .action(async (id: string, opts: { station?: string[] }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const r = await actions.retryRollout(id, opts.station === undefined ? {} : { station: opts.station });
        out.result(r, () => {
          out.line(`retried  ${r.retried.length} station(s): offered again at the next evaluation`);
          for (const s of r.skipped) out.line(`left failed  ${s.eui}: ${s.reason}`);
          out.line();
          printRollout(out, r);
        });
      });
    });
}
