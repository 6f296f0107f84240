import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { conflict, invalid } from '../../../core/errors.js';
import { generateSigningKey } from '../../../signing/index.js';
import { commandContext } from '../../context.js';

export function register(parent: Command): void {
  parent
    .command('generate')
    .description('make a P-256 signing key: sig-N.pem (private, keep it safe) and sig-N.key (64 raw bytes for the station)')
    .option('--out <dir>', 'folder to write into', '.')
    .option('--index <n>', 'N in sig-N (the station tries sig-0.key, sig-1.key, ... in order)', '0')
    .option('--force', 'overwrite existing files')
    .action(async (opts: { out: string; index: string; force?: boolean }, cmd: Command) => {
      const { out } = commandContext(cmd);
      const index = Number(opts.index);
      if (!Number.isInteger(index) || index < 0 || index > 99) throw invalid('invalid_index', `--index must be a whole number 0..99, got "${opts.index}"`);
      const key = generateSigningKey();
      await mkdir(opts.out, { recursive: true });
      const pemPath = join(opts.out, `sig-${index}.pem`);
      const keyPath = join(opts.out, `sig-${index}.key`);
      const flag = opts.force === true ? 'w' : 'wx';
      try {
        await writeFile(pemPath, key.privateKeyPem, { mode: 0o600, flag });
        await chmod(pemPath, 0o600);
        await writeFile(keyPath, key.sigKey, { flag });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw conflict('file_exists', `${(e as NodeJS.ErrnoException).path ?? 'file'} exists; pick another --index or --out, or pass --force`);
        }
        throw e;
      }
      out.result({ privateKey: pemPath, stationKey: keyPath, crc: key.crc }, () => {
        out.line(`wrote ${pemPath} (private key, mode 0600) and ${keyPath} (install on the station)`);
        out.line(`key CRC: ${key.crc}`);
      });
    });
}
