import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { readSigKey } from './read-key.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('add')
    .description('register a public signing key with the server so firmware uploads are checked against it (admin)')
    .argument('<file>', 'sig-N.key (64 bytes) or a PEM public key')
    .option('--name <name>', 'a name for the key')
    .action(async (file: string, opts: { name?: string }, cmd: Command) => {
      const sigKey = await readSigKey(file, 'FILE');
      await runActions(cmd, async (actions, out) => {
        const key = await actions.addSigningKey({ publicKey: sigKey.toString('hex'), name: opts.name ?? null });
        out.result(key, () => out.line(`registered signing key ${formatCrc(key.crc)}${key.name === null ? '' : ` (${key.name})`}`));
      });
    });
}
