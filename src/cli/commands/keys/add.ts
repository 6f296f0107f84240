import type { Command } from 'commander';
import { keyCrc } from '../../../signing/index.js';
import { runWithRuntime } from '../../context.js';
import { readSigKey } from './read-key.js';

export function register(parent: Command): void {
  parent
    .command('add')
    .description('register a public signing key with the server so firmware uploads are checked against it')
    .argument('<file>', 'sig-N.key (64 bytes) or a PEM public key')
    .option('--name <name>', 'a name for the key')
    .action(async (file: string, opts: { name?: string }, cmd: Command) => {
      const sigKey = await readSigKey(file, 'FILE');
      const crc = keyCrc(sigKey);
      await runWithRuntime(cmd, async ({ registry }, out) => {
        const key = await registry.addSigningKey({ crc, publicKey: sigKey.toString('hex'), name: opts.name ?? null });
        out.result(key, () => out.line(`registered signing key ${crc}${key.name === null ? '' : ` (${key.name})`}`));
      });
    });
}
