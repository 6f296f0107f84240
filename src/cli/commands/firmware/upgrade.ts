import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { invalid } from '../../../core/errors.js';
import { upgradeFirmware, type GivenSignature } from '../../../operations/firmware-upload.js';
import { targetPackage } from '../../../operations/firmware-library.js';
import { runRolloutOperation } from '../../rollout-context.js';
import { loadPrivateKey } from '../../../signing/index.js';
import { collect, runWithRuntime } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { euiArg, parseLabels } from '../station/parse.js';
import { readSigKey } from '../keys/read-key.js';
import { statFile } from './firmware-file.js';

interface Options {
  station?: string[];
  label?: string[];
  package: string;
  file?: string;
  signature?: string[];
  keyCrc?: string[];
  publicKey?: string[];
  signWith?: string[];
  allowDowngrade?: boolean;
  maxOffers?: string;
}

export function register(parent: Command): void {
  parent
    .command('upgrade')
    .description(
      'upload a signed update once and target stations at a package version. Every signature is verified over the ' +
        'bytes as they are stored, and nothing is stored or targeted unless all verify, so a bad or changing file never reaches a station',
    )
    .option('--station <eui...>', 'target station(s), repeatable')
    .option('--label <key=value>', 'target every station with this label, repeatable', collect)
    .requiredOption('--package <version>', 'package version the update writes into version.txt, e.g. 1.0.1')
    .option('--file <file>', 'the update file (stations run it with sh as update.bin); without it, --package names a firmware library entry')
    .option('--signature <file>', 'DER signature file (openssl dgst -sha512 -sign), with --key-crc; repeatable', collect)
    .option('--key-crc <crc>', 'CRC of the sig-N.key that verifies the --signature at the same position; repeatable', collect)
    .option('--public-key <file>', 'sig-N.key or PEM public key for an unregistered --key-crc; repeatable', collect)
    .option('--sign-with <pem>', 'sign now with this private key (sig-N.pem); repeatable', collect)
    .option('--allow-downgrade', 'allow a lower semantic version than the station reports')
    .option('--max-offers <n>', 'offers without the package changing before the upgrade is marked failed (default BSCUPS_MAX_OFFERS or 3)')
    .action(async (opts: Options, cmd: Command) => {
      const stations = (opts.station ?? []).map(euiArg);
      const labels = parseLabels(opts.label, false) as Record<string, string>;
      if (opts.file === undefined) {
        if ((opts.signature ?? opts.signWith ?? opts.publicKey) !== undefined) throw invalid('file_required', '--signature, --sign-with and --public-key go with --file; a library package is already signed');
        await targetLibraryPackage(cmd, opts, stations, labels);
        return;
      }
      const file = await statFile(opts.file);
      if ((opts.signature?.length ?? 0) !== (opts.keyCrc?.length ?? 0)) throw invalid('unpaired_signature', 'give one --key-crc for every --signature, in the same order');
      const signatures: GivenSignature[] = [];
      for (const [i, sigFile] of (opts.signature ?? []).entries()) {
        signatures.push({ keyCrc: parseCrc(opts.keyCrc?.[i] ?? ''), signature: await readFileArg(sigFile, '--signature'), label: sigFile });
      }
      const publicKeys: Buffer[] = [];
      for (const f of opts.publicKey ?? []) publicKeys.push(await readSigKey(f, '--public-key'));
      const signWith: KeyObject[] = [];
      for (const pem of opts.signWith ?? []) signWith.push(loadPrivateKey(await readFileArg(pem, '--sign-with')));

      await runWithRuntime(cmd, async ({ registry, blobs, config }, out) => {
        const bar = !out.json && process.stderr.isTTY === true ? new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
        bar?.start(file.size, 0);
        const result = await upgradeFirmware(
          { registry, blobs, clock: () => new Date() },
          {
            package: opts.package,
            source: { label: `--file ${file.path}`, size: file.size, open: () => createReadStream(file.path) },
            signatures,
            publicKeys,
            signWith,
            stations,
            labels,
            maxOffers: opts.maxOffers === undefined ? config.maxOffers : Number(opts.maxOffers),
            allowDowngrade: opts.allowDowngrade === true,
            onProgress: (n) => bar?.update(n),
          },
        ).finally(() => bar?.stop());
        out.result(result, () => {
          out.line(`${result.uploaded ? 'uploaded' : 'reused stored'} ${result.blob} (${result.size} bytes)`);
          out.line(`${result.stations.length} station(s) will be offered package ${result.package} on their next request: ${result.stations.join(', ')}`);
        });
      });
    });
}

/** `firmware upgrade --package X` without --file: target the library entry X. */
async function targetLibraryPackage(cmd: Command, opts: Options, stations: string[], labels: Record<string, string>): Promise<void> {
  await runRolloutOperation(cmd, async (ctx, out, maxOffers) => {
    const result = await targetPackage(ctx, {
      package: opts.package,
      stations,
      labels,
      maxOffers: opts.maxOffers === undefined ? maxOffers : Number(opts.maxOffers),
      allowDowngrade: opts.allowDowngrade === true,
    });
    out.result(result, () => out.line(`${result.stations.length} station(s) will be offered library package ${result.package} on their next request: ${result.stations.join(', ')}`));
  });
}

function parseCrc(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n > 0xffffffff) throw invalid('invalid_key_crc', `--key-crc must be an unsigned 32-bit decimal number, got "${text}"`);
  return n;
}
