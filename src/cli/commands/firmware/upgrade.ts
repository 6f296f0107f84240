import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { invalid, notFound } from '../../../core/errors.js';
import { isDowngrade } from '../../../core/versions.js';
import type { FirmwareSignature, Station, StationRegistry } from '../../../registry/types.js';
import { isDerSignatureForStation, keyCrc, loadPrivateKey, sigKeyFromPublicKey, signStream, verifyStream } from '../../../signing/index.js';
import { collect, runWithRuntime } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { euiArg, parseLabels } from '../station/parse.js';
import { readSigKey } from '../keys/read-key.js';
import { sha256File, statFile, uploadOnce } from './firmware-file.js';

interface Options {
  station?: string[];
  label?: string[];
  package: string;
  file: string;
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
      'upload a signed update once and target stations at a package version. Every signature is verified before ' +
        'anything is stored, so a bad file never reaches a station',
    )
    .option('--station <eui...>', 'target station(s), repeatable')
    .option('--label <key=value>', 'target every station with this label, repeatable', collect)
    .requiredOption('--package <version>', 'package version the update writes into version.txt, e.g. 1.0.1')
    .requiredOption('--file <file>', 'the update file (stations run it with sh as update.bin)')
    .option('--signature <file>', 'DER signature file (openssl dgst -sha512 -sign), with --key-crc; repeatable', collect)
    .option('--key-crc <crc>', 'CRC of the sig-N.key that verifies the --signature at the same position; repeatable', collect)
    .option('--public-key <file>', 'sig-N.key or PEM public key for an unregistered --key-crc; repeatable', collect)
    .option('--sign-with <pem>', 'sign now with this private key (sig-N.pem); repeatable', collect)
    .option('--allow-downgrade', 'allow a lower semantic version than the station reports')
    .option('--max-offers <n>', 'offers without the package changing before the upgrade is marked failed (default BSCUPS_MAX_OFFERS or 3)')
    .action(async (opts: Options, cmd: Command) => {
      const stationsWanted = (opts.station ?? []).map(euiArg);
      const labels = parseLabels(opts.label, false) as Record<string, string>;
      if (stationsWanted.length === 0 && Object.keys(labels).length === 0) throw invalid('no_targets', 'say which stations: --station EUI… or --label key=value');
      const pkg = validatePackage(opts.package);
      const file = await statFile(opts.file);
      if ((opts.signature?.length ?? 0) !== (opts.keyCrc?.length ?? 0)) throw invalid('unpaired_signature', 'give one --key-crc for every --signature, in the same order');
      if ((opts.signature?.length ?? 0) + (opts.signWith?.length ?? 0) === 0) throw invalid('unsigned_firmware', 'give --signature FILE --key-crc CRC, or --sign-with sig-N.pem');

      await runWithRuntime(cmd, async ({ registry, blobs, config }, out) => {
        const maxOffers = opts.maxOffers === undefined ? config.maxOffers : Number(opts.maxOffers);
        if (!Number.isInteger(maxOffers) || maxOffers < 1) throw invalid('invalid_max_offers', `--max-offers must be a whole number ≥ 1, got "${opts.maxOffers}"`);
        const targets = await selectStations(registry, stationsWanted, labels);
        const signatures = await collectSignatures(registry, opts, file.path);

        const refused = targets.filter((s) => opts.allowDowngrade !== true && isDowngrade(s.reported?.package ?? null, pkg));
        if (refused.length > 0) {
          throw invalid('downgrade_refused', `package ${pkg} is lower than what ${refused.map((s) => `${s.eui} reports (${s.reported?.package})`).join(', ')}; pass --allow-downgrade to do it anyway`);
        }

        const sha256 = await sha256File(file.path);
        const { blob, uploaded } = await uploadOnce(blobs, file, sha256, !out.json && process.stderr.isTTY === true);
        const now = new Date();
        for (const s of targets) {
          await registry.setFirmwareTarget(s.eui, { package: pkg, blob, size: file.size, sha256, signatures, maxOffers, fromPackage: s.reported?.package ?? null, requestedAt: now });
          await registry.appendEvents(s.eui, [{ type: 'config', message: `firmware target ${pkg} (${file.size} bytes, keys ${signatures.map((x) => x.keyCrc).join(',')})` }], now);
        }
        const result = { package: pkg, blob, size: file.size, sha256, uploaded, keyCrcs: signatures.map((x) => x.keyCrc), stations: targets.map((s) => s.eui) };
        out.result(result, () => {
          out.line(`${uploaded ? 'uploaded' : 'reused stored'} ${blob} (${file.size} bytes)`);
          out.line(`${targets.length} station(s) will be offered package ${pkg} on their next request: ${result.stations.join(', ')}`);
        });
      });
    });
}

function validatePackage(value: string): string {
  const v = value.trim();
  if (v === '' || v.length > 64 || /[\s\x00-\x1f]/.test(v)) throw invalid('invalid_package', `--package must be 1..64 printable characters without spaces, got "${value}"`);
  return v;
}

async function selectStations(registry: StationRegistry, euis: readonly string[], labels: Record<string, string>): Promise<Station[]> {
  const byEui = new Map<string, Station>();
  for (const eui of euis) {
    const s = await registry.getStation(eui);
    if (s === undefined) throw notFound('station_not_found', `station ${eui} is not registered; nothing was changed`);
    byEui.set(eui, s);
  }
  if (Object.keys(labels).length > 0) {
    const found = await registry.listStations({ labels });
    if (found.length === 0) throw notFound('no_stations', `no station has labels ${JSON.stringify(labels)}; nothing was changed`);
    for (const s of found) byEui.set(s.eui, s);
  }
  return [...byEui.values()];
}

/** Every signature, verified against its public key before anything is stored. */
async function collectSignatures(registry: StationRegistry, opts: Options, path: string): Promise<FirmwareSignature[]> {
  const given = new Map<number, Buffer>();
  for (const f of opts.publicKey ?? []) {
    const k = await readSigKey(f, '--public-key');
    given.set(keyCrc(k), k);
  }
  const result: FirmwareSignature[] = [];
  for (const [i, sigFile] of (opts.signature ?? []).entries()) {
    const crc = parseCrc(opts.keyCrc?.[i] ?? '');
    const sig = await readFileArg(sigFile, '--signature');
    if (!isDerSignatureForStation(sig)) throw invalid('invalid_signature', `--signature ${sigFile} is not a DER ECDSA signature of 8..128 bytes`);
    const sigKey = given.get(crc) ?? (await registeredKey(registry, crc));
    if (!(await verifyStream(createReadStream(path), sig, sigKey))) {
      throw invalid('signature_mismatch', `--signature ${sigFile} does not verify --file ${path} with key ${crc}; nothing was uploaded`);
    }
    result.push({ keyCrc: crc, signature: sig.toString('base64') });
  }
  for (const pem of opts.signWith ?? []) {
    const key = loadPrivateKey(await readFileArg(pem, '--sign-with'));
    const crc = keyCrc(sigKeyFromPublicKey(key));
    const sig = await signStream(createReadStream(path), key);
    result.push({ keyCrc: crc, signature: sig.toString('base64') });
  }
  const crcs = result.map((r) => r.keyCrc);
  if (new Set(crcs).size !== crcs.length) throw invalid('duplicate_key', `two signatures use the same key CRC (${crcs.join(', ')})`);
  return result;
}

async function registeredKey(registry: StationRegistry, crc: number): Promise<Buffer> {
  const k = await registry.getSigningKey(crc);
  if (k === undefined) throw notFound('signing_key_not_found', `no signing key with CRC ${crc} is registered; run "bscups keys add sig-N.key" or pass --public-key`);
  return Buffer.from(k.publicKey, 'hex');
}

function parseCrc(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n > 0xffffffff) throw invalid('invalid_key_crc', `--key-crc must be an unsigned 32-bit decimal number, got "${text}"`);
  return n;
}
