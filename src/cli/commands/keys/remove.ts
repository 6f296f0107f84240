import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { runActions } from '../../run-actions.js';

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
      await runActions(cmd, async (actions, out) => {
        const r = await actions.removeSigningKey(crc);
        out.result(r, () => out.line(`removed signing key ${crc}`));
      });
    });
}
