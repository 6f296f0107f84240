import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { at } from '../station/view.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('list registered signing keys')
    .action(async (_opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const keys = await actions.listSigningKeys();
        out.result(keys, () =>
          out.table(keys.map((k) => ({ crc: formatCrc(k.crc), name: k.name, added: at(k.createdAt), 'public key': `${k.publicKey.slice(0, 16)}…` })), ['crc', 'name', 'added', 'public key']),
        );
      });
    });
}
