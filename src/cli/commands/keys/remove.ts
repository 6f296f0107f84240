import type { Command } from 'commander';
import { invalid, notFound } from '../../../core/errors.js';
import { runWithRuntime } from '../../context.js';

export function register(parent: Command): void {
  parent
    .command('remove')
    .description(
      'unregister a signing key (uploads are no longer checked against it); refused while a firmware target not yet upgraded is signed by it',
    )
    .argument('<crc>', 'the key CRC, as "bscups keys list" shows it')
    .action(async (text: string, _opts: unknown, cmd: Command) => {
      const crc = Number(text);
      if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(crc) || crc > 0xffffffff) {
        throw invalid('invalid_key_crc', `CRC must be an unsigned 32-bit decimal number as "bscups keys list" shows it, got "${text}"`, { field: 'crc' });
      }
      await runWithRuntime(cmd, async ({ registry }, out) => {
        if (!(await registry.removeSigningKey(crc))) throw notFound('signing_key_not_found', `no signing key with CRC ${crc} is registered; see "bscups keys list"`);
        out.result({ crc, removed: true }, () => out.line(`removed signing key ${crc}`));
      });
    });
}
