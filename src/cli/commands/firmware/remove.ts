import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';

export function register(parent: Command): void {
  parent
    .command('remove')
    .description('remove a package from the library with its file; refused while a station target or an active rollout uses it')
    .argument('<package>', 'package version')
    .action(async (pkg: string, _opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const r = await actions.removePackage(pkg);
        out.result(r, () => out.line(`removed package ${r.package}${r.blobDeleted ? ' and its file' : ' (its file stays: another package has the same bytes)'}`));
      });
    });
}
