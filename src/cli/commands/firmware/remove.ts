import type { Command } from 'commander';
import { removePackage } from '../../../operations/firmware-library.js';
import { runRolloutOperation } from '../../rollout-context.js';

export function register(parent: Command): void {
  parent
    .command('remove')
    .description('remove a package from the library with its file; refused while a station target or an active rollout uses it')
    .argument('<package>', 'package version')
    .action(async (pkg: string, _opts: unknown, cmd: Command) => {
      await runRolloutOperation(cmd, async (ctx, out) => {
        const r = await removePackage(ctx, pkg);
        out.result(r, () => out.line(`removed package ${r.package}${r.blobDeleted ? ' and its file' : ' (its file stays: another package has the same bytes)'}`));
      });
    });
}
