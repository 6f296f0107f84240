import type { Command } from 'commander';
import { listUnknownStations } from '../../../operations/fleet.js';
import { runOperation } from '../../operation-context.js';

export function register(parent: Command): void {
  parent
    .command('unknown')
    .description('EUIs that asked for updates but are not registered (register them with "station add")')
    .action(async (_opts: unknown, cmd: Command) => {
      await runOperation(cmd, async (ctx, out) => {
        const unknown = await listUnknownStations(ctx);
        out.result(unknown, () =>
          out.table(
            unknown.map((u) => ({
              eui: u.eui,
              requests: u.count,
              'first seen': u.firstSeenAt,
              'last seen': u.lastSeenAt,
              from: u.lastRemoteAddress,
              model: u.lastRequest.model,
              package: u.lastRequest.package,
            })),
            ['eui', 'requests', 'first seen', 'last seen', 'from', 'model', 'package'],
          ),
        );
      });
    });
}
