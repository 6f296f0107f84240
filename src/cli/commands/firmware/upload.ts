import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { invalid } from '../../../core/errors.js';
import { uploadPackage } from '../../../operations/firmware-library.js';
import type { GivenSignature } from '../../../operations/firmware-upload.js';
import { loadPrivateKey } from '../../../signing/index.js';
import { collect } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { runRolloutOperation } from '../../rollout-context.js';
import { packageJson } from '../../../http/admin/rollout-views.js';
import { readSigKey } from '../keys/read-key.js';
import { statFile } from './firmware-file.js';

interface Options {
  package: string;
  file: string;
  signature?: string[];
  keyCrc?: string[];
  publicKey?: string[];
  signWith?: string[];
  model?: string[];
}

export function register(parent: Command): void {
  parent
    .command('upload')
    .description('add a signed update to the firmware library once, verified over the bytes as they are stored; stations and rollouts then target it by --package')
    .requiredOption('--package <version>', 'package version the update writes into version.txt, e.g. 1.4.0')
    .requiredOption('--file <file>', 'the update file (stations run it with sh as update.bin)')
    .option('--signature <file>', 'DER signature file (openssl dgst -sha512 -sign), with --key-crc; repeatable', collect)
    .option('--key-crc <crc>', 'CRC of the sig-N.key that verifies the --signature at the same position; repeatable', collect)
    .option('--public-key <file>', 'sig-N.key or PEM public key for an unregistered --key-crc; repeatable', collect)
    .option('--sign-with <pem>', 'sign now with this private key (sig-N.pem); repeatable', collect)
    .option('--model <model>', 'station model (reported model) the update is built for; repeatable; stations reporting another are never offered it', collect)
    .action(async (opts: Options, cmd: Command) => {
      const file = await statFile(opts.file);
      if ((opts.signature?.length ?? 0) !== (opts.keyCrc?.length ?? 0)) throw invalid('unpaired_signature', 'give one --key-crc for every --signature, in the same order');
      const signatures: GivenSignature[] = [];
      for (const [i, sigFile] of (opts.signature ?? []).entries()) {
        const crc = Number(opts.keyCrc?.[i]);
        if (!/^\d+$/.test(opts.keyCrc?.[i] ?? '') || crc > 0xffffffff) throw invalid('invalid_key_crc', `--key-crc must be an unsigned 32-bit decimal number, got "${opts.keyCrc?.[i]}"`);
        signatures.push({ keyCrc: crc, signature: await readFileArg(sigFile, '--signature'), label: sigFile });
      }
      const publicKeys: Buffer[] = [];
      for (const f of opts.publicKey ?? []) publicKeys.push(await readSigKey(f, '--public-key'));
      const signWith: KeyObject[] = [];
      for (const pem of opts.signWith ?? []) signWith.push(loadPrivateKey(await readFileArg(pem, '--sign-with')));
      await runRolloutOperation(cmd, async (ctx, out) => {
        const bar = !out.json && process.stderr.isTTY === true ? new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(file.size, 0);
        const entry = await uploadPackage(ctx, {
          package: opts.package,
          source: { label: `--file ${file.path}`, size: file.size, open: () => createReadStream(file.path) },
          signatures,
          publicKeys,
          signWith,
          models: opts.model ?? [],
          onProgress: (n) => bar?.update(n),
        }).finally(() => bar?.stop());
        out.result({ ...packageJson(entry), uploaded: entry.uploaded }, () => {
          out.line(`package ${entry.package} in the library: ${entry.size} bytes, sha256 ${entry.sha256}, keys ${entry.signatures.map((s) => s.keyCrc).join(', ')}${entry.models.length > 0 ? `, for ${entry.models.join(', ')}` : ''}`);
        });
      });
    });
}
