import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';

export function register(parent: Command): void {
  parent
    .command('remove')
    .description('unregister a station and delete its credential blobs (shared firmware files stay)')
    .argument('<eui>', 'station EUI')
    .action(async (eui: string, _opts: unknown, cmd: Command) => {
      const id = euiArg(eui);
      await runActions(cmd, async (actions, out) => {
        const { blobsDeleted } = await actions.removeStation(id);
        out.result({ eui: id, removed: true, blobsDeleted }, () =>
          out.line(`removed station ${id} and ${blobsDeleted} credential blob(s)`),
        );
      });
    });
}
