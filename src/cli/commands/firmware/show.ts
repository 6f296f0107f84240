import type { Command } from 'commander';
import { showPackage } from '../../../operations/firmware-library.js';
import { packageJson } from '../../../http/admin/rollout-views.js';
import { runRolloutOperation } from '../../rollout-context.js';

export function register(parent: Command): void {
  parent
    .command('show')
    .description('one library package, and the stations and rollouts that use it')
    .argument('<package>', 'package version')
    .action(async (pkg: string, _opts: unknown, cmd: Command) => {
      await runRolloutOperation(cmd, async (ctx, out) => {
        const p = await showPackage(ctx, pkg);
        const json = { ...packageJson(p), use: { stations: [...p.use.stations], rollouts: [...p.use.rollouts] } };
        out.result(json, () => {
          out.line(`package  ${json.package}`);
          out.line(`size     ${json.size} bytes`);
          out.line(`sha256   ${json.sha256}`);
          out.line(`keys     ${json.keyCrcs.join(', ')}`);
          out.line(`models   ${json.models.join(', ') || 'any'}`);
          out.line(`uploaded ${json.createdAt} by ${json.createdBy}`);
          out.line(`used by  ${json.use.stations.length} station target(s), rollouts: ${json.use.rollouts.join(', ') || 'none'}`);
        });
      });
    });
}
