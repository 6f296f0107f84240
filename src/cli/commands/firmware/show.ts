import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('show')
    .description('one library package, and the stations and rollouts that use it')
    .argument('<package>', 'package version')
    .action(async (pkg: string, _opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const json = await actions.showPackage(pkg);
        out.result(json, () => {
          out.line(`package  ${json.package}`);
          out.line(`size     ${json.size} bytes`);
          out.line(`sha256   ${json.sha256}`);
          out.line(`keys     ${json.keyCrcs.map(formatCrc).join(', ')}`);
          out.line(`models   ${json.models.join(', ') || 'any'}`);
          out.line(`uploaded ${json.createdAt} by ${json.createdBy}`);
          out.line(`used by  ${json.use.stations.length} station target(s), rollouts: ${json.use.rollouts.join(', ') || 'none'}`);
          for (const f of json.use.failed ?? []) out.line(`failed   ${f.eui}: ${f.lastError ?? '(no reason recorded)'}`);
        });
      });
    });
}
