import { join } from 'node:path';
import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { checkPrivateTargets, ensurePrivateDir, writePrivateFile } from '../../../pki/private-files.js';
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
    .option('--force', 'replace existing files (atomically; a symbolic link is never written through)')
    .action(async (opts: { out: string; index: string; force?: boolean }, cmd: Command) => {
      const { out } = commandContext(cmd);
      const index = Number(opts.index);
      if (!Number.isInteger(index) || index < 0 || index > 99) throw invalid('invalid_index', `--index must be a whole number 0..99, got "${opts.index}"`);
      const key = generateSigningKey();
      await ensurePrivateDir(opts.out);
      const pemPath = join(opts.out, `sig-${index}.pem`);
      const keyPath = join(opts.out, `sig-${index}.key`);
      const replace = opts.force === true;
      // Both checked first, so a refusal writes neither.
      await checkPrivateTargets([pemPath, keyPath], replace);
      await writePrivateFile(pemPath, key.privateKeyPem, { replace });
      await writePrivateFile(keyPath, key.sigKey, { replace });
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
