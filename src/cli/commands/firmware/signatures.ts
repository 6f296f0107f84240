import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { loadPrivateKey } from '../../../signing/index.js';
import type { FirmwareFileArgs } from '../../actions.js';
import { collect } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { readSigKey } from '../keys/read-key.js';
import { statFile } from './firmware-file.js';
import { parseCrc as parseCrcText } from '../../../core/crc-format.js';

/** The flags an upload shares: the file and its signatures (given, or made now with --sign-with). */
export interface SignedFileOptions {
  package: string;
  file: string;
  signature?: string[];
  keyCrc?: string[];
  publicKey?: string[];
  signWith?: string[];
}

/** Adds the signature flags of SignedFileOptions (after --package and --file, which differ per command). */
export function signatureOptions(cmd: Command): Command {
  return cmd
    .option('--signature <file>', 'DER signature file (openssl dgst -sha512 -sign), with --key-crc; repeatable', collect)
    .option('--key-crc <crc>', 'CRC of the sig-N.key that verifies the --signature at the same position; repeatable', collect)
    .option('--public-key <file>', 'sig-N.key or PEM public key for an unregistered --key-crc; repeatable', collect)
    .option('--sign-with <pem>', 'sign now with this private key (sig-N.pem); repeatable; with --server it signs here and only the signature is sent', collect);
}

export function parseCrc(text: string): number {
  return parseCrcText(text, '--key-crc');
}

/** Reads the signature and key files the flags name; the update itself is streamed later, never read here. */
export async function signedFile(opts: SignedFileOptions): Promise<Omit<FirmwareFileArgs, 'onProgress'>> {
  const file = await statFile(opts.file);
  if ((opts.signature?.length ?? 0) !== (opts.keyCrc?.length ?? 0)) throw invalid('unpaired_signature', 'give one --key-crc for every --signature, in the same order');
  const signatures: FirmwareFileArgs['signatures'][number][] = [];
  for (const [i, sigFile] of (opts.signature ?? []).entries()) {
    signatures.push({ keyCrc: parseCrc(opts.keyCrc?.[i] ?? ''), signature: await readFileArg(sigFile, '--signature'), label: sigFile });
  }
  const publicKeys: Buffer[] = [];
  for (const f of opts.publicKey ?? []) publicKeys.push(await readSigKey(f, '--public-key'));
  const signWith: KeyObject[] = [];
  for (const pem of opts.signWith ?? []) signWith.push(loadPrivateKey(await readFileArg(pem, '--sign-with')));
  return { package: opts.package, path: file.path, size: file.size, signatures, publicKeys, signWith };
}
