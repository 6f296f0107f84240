import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { conflict, invalid } from '../../../core/errors.js';
import { generateSigningKey } from '../../../signing/index.js';
import { commandContext } from '../../context.js';
import { gitIgnores, gitWorkTreeOf } from '../../git-work-tree.js';
import { formatCrc } from '../../../core/crc-format.js';

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
      const warning = await privateKeyInRepository(pemPath);
      if (warning !== undefined && !out.json) out.note(`warning: ${warning}`);
      out.result({ privateKey: pemPath, stationKey: keyPath, crc: key.crc, ...(warning === undefined ? {} : { warning }) }, () => {
        out.line(`wrote ${pemPath} (private key, mode 0600) and ${keyPath} (install on the station)`);
        out.line(`key CRC: ${formatCrc(key.crc)}`);
      });
    });
}

/** Whoever holds sig-N.pem can sign firmware every station runs as root: a commit would publish it. */
async function privateKeyInRepository(pemPath: string): Promise<string | undefined> {
  const workTree = await gitWorkTreeOf(pemPath);
  if (workTree === undefined) return undefined;
  const ignored = await gitIgnores(pemPath, workTree);
  const state =
    ignored === true
      ? 'git ignores it, but a "git add -f" or a change to .gitignore would publish it'
      : ignored === false
        ? 'git does NOT ignore it: add it to .gitignore before anything else'
        : 'make sure git ignores it';
  return `the private key ${pemPath} is inside the git work tree ${workTree}; ${state}. Anyone with it can sign firmware for your stations: keep it outside the repository (--out) or in a secret store.`;
}
