import type { Command } from 'commander';
import { runWithRuntime } from '../../context.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('list registered signing keys')
    .action(async (_opts: unknown, cmd: Command) => {
      await runWithRuntime(cmd, async ({ registry }, out) => {
        const keys = await registry.listSigningKeys();
        out.result(keys, () =>
          out.table(keys.map((k) => ({ crc: k.crc, name: k.name, added: k.createdAt, 'public key': `${k.publicKey.slice(0, 16)}…` })), ['crc', 'name', 'added', 'public key']),
        );
      });
    });
}
