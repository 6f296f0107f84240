import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('the firmware library: packages uploaded once, most recent first')
    .action(async (_opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const packages = await actions.listPackages();
        out.result(packages, () =>
          out.table(packages.map((p) => ({ package: p.package, size: p.size, sha256: `${p.sha256.slice(0, 16)}…`, keys: p.keyCrcs.map(formatCrc).join(','), models: p.models.join(',') || 'any', uploaded: p.createdAt })), ['package', 'size', 'sha256', 'keys', 'models', 'uploaded']),
        );
      });
    });
}
