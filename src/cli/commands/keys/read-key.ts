import { readFileArg } from '../../read-file-arg.js';
import { sigKeyFromPublicKey } from '../../../signing/index.js';

/** Reads a sig-N.key (64 raw bytes) or any P-256 public/private key file and returns the 64-byte station form. */
export async function readSigKey(path: string, flag: string): Promise<Buffer> {
  const bytes = await readFileArg(path, flag);
  return sigKeyFromPublicKey(bytes.length === 64 ? bytes : bytes.toString('utf8').includes('-----BEGIN') ? bytes.toString('utf8') : bytes);
}
