import { createVerify, verify } from 'node:crypto';
import { forEachChunk, type ByteSource } from './byte-source.js';
import { publicKeyFromSigKey } from './keys.js';

/**
 * True when `signature` (DER) over `data` verifies with the 64-byte `sigKey`;
 * false for a wrong or malformed signature. Throws `invalid_signing_key` for an unusable key.
 */
export function verifyBuffer(data: Uint8Array, signature: Uint8Array, sigKey: Uint8Array): boolean {
  const key = publicKeyFromSigKey(sigKey);
  return verify('sha512', data, { key, dsaEncoding: 'der' }, signature);
}

/** Same as verifyBuffer over a stream, hashing chunk by chunk. */
export async function verifyStream(source: ByteSource, signature: Uint8Array, sigKey: Uint8Array): Promise<boolean> {
  // Resolve the key first so a bad key fails before the stream is consumed.
  const key = publicKeyFromSigKey(sigKey);
  const verifier = createVerify('sha512');
  await forEachChunk(source, (chunk) => verifier.update(chunk));
  return verifier.verify({ key, dsaEncoding: 'der' }, signature);
}
