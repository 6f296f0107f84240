import { createSign, sign, type KeyObject } from 'node:crypto';
import { forEachChunk, type ByteSource } from './byte-source.js';
import { invalidSigningKey, requireP256 } from './p256.js';
import { loadPrivateKey } from './keys.js';

/** DER ECDSA-P256/SHA-512 signature of `data`, identical in form to `openssl dgst -sha512 -sign key.pem`. */
export function signBuffer(data: Uint8Array, privateKey: KeyObject | string): Buffer {
  return sign('sha512', data, { key: signingKey(privateKey), dsaEncoding: 'der' });
}

/** Same as signBuffer over a stream, hashing chunk by chunk. */
export async function signStream(source: ByteSource, privateKey: KeyObject | string): Promise<Buffer> {
  // Resolve the key first so a bad key fails before the stream is consumed.
  const key = signingKey(privateKey);
  const signer = createSign('sha512');
  await forEachChunk(source, (chunk) => signer.update(chunk));
  return signer.sign({ key, dsaEncoding: 'der' });
}

function signingKey(privateKey: KeyObject | string): KeyObject {
  if (typeof privateKey === 'string') return loadPrivateKey(privateKey);
  if (privateKey.type !== 'private') {
    throw invalidSigningKey('a public key cannot sign; pass the private key (the sig-N.pem written by "openssl ec -out")');
  }
  requireP256(privateKey, 'the private signing key');
  return privateKey;
}
