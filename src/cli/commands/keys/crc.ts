import type { Command } from 'commander';
import { keyCrc } from '../../../signing/index.js';
import { commandContext } from '../../context.js';
import { readSigKey } from './read-key.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('crc')
    .description('print the CRC-32 of a signing key as the station reports it in "keys" (accepts sig-N.key, or a PEM public/private key)')
    .argument('<file>', 'sig-N.key or PEM key')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const { out } = commandContext(cmd);
      const crc = keyCrc(await readSigKey(file, 'FILE'));
      out.result({ file, crc }, () => out.line(formatCrc(crc)));
    });
}
