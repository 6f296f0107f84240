import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { at } from './view.js';

export function register(parent: Command): void {
  parent
    .command('unknown')
    .description('EUIs that asked for updates but are not registered (register them with "station add")')
    .action(async (_opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const unknown = await actions.unknownStations();
        out.result(unknown, () =>
          out.table(
            unknown.map((u) => ({
              eui: u.eui,
              requests: u.count,
              'first seen': at(u.firstSeenAt),
              'last seen': at(u.lastSeenAt),
              from: u.lastRemoteAddress,
              model: u.lastRequest['model'],
              package: u.lastRequest['package'],
            })),
            ['eui', 'requests', 'first seen', 'last seen', 'from', 'model', 'package'],
          ),
        );
      });
    });
}
