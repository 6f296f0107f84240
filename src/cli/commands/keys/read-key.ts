import { readFile } from 'node:fs/promises';
import { invalid } from '../../../core/errors.js';
import { sigKeyFromPublicKey } from '../../../signing/index.js';

/** Reads a sig-N.key (64 raw bytes) or any P-256 public/private key file and returns the 64-byte station form. */
export async function readSigKey(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw invalid('unreadable_file', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return sigKeyFromPublicKey(bytes.length === 64 ? bytes : bytes.toString('utf8').includes('-----BEGIN') ? bytes.toString('utf8') : bytes);
}
