import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { formatCrc, parseCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('remove')
    .description(
      'unregister a signing key (uploads are no longer checked against it); refused while a firmware target not yet upgraded is signed by it',
    )
    .argument('<crc>', 'the key CRC, as "bscups keys list" shows it')
    .action(async (text: string, _opts: unknown, cmd: Command) => {
      const crc = parseCrc(text, 'crc');
      await runActions(cmd, async (actions, out) => {
        const r = await actions.removeSigningKey(crc);
        out.result(r, () => out.line(`removed signing key ${formatCrc(crc)}`));
      });
    });
}
