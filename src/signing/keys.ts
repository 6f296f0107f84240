import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  P256_SPKI_PREFIX,
  SIG_KEY_LENGTH,
  asBuffer,
  invalidSigningKey,
  pemText,
  privateKeyFromDer,
  publicKeyFromDer,
  rawPoint,
  rejectEncryptedPem,
  requireP256,
} from './p256.js';

/** A fresh signing key in the forms operators and stations use. */
export interface GeneratedSigningKey {
  /** SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`), as `openssl ec -out` writes it. */
  readonly privateKeyPem: string;
  /** The 64-byte sig-N.key to install on stations. */
  readonly sigKey: Buffer;
  /** CRC-32 of `sigKey`, as stations report it in `keys`. */
  readonly crc: number;
}

/** Generates a P-256 signing key. */
export function generateSigningKey(): GeneratedSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKeyPem = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
  const sigKey = rawPoint(publicKey);
  return { privateKeyPem, sigKey, crc: keyCrc(sigKey) };
}

/** The sig-N.key bytes (X‖Y) of a public or private P-256 key in PEM, DER, KeyObject, or raw 64-byte form. */
export function sigKeyFromPublicKey(input: Uint8Array | string | KeyObject): Buffer {
  if (input instanceof KeyObject) {
    requireP256(input, 'the signing key');
    return rawPoint(input);
  }
  if (typeof input !== 'string' && input.byteLength === SIG_KEY_LENGTH) {
    // Validates the point; the copy keeps callers from aliasing our result.
    publicKeyFromSigKey(input);
    return Buffer.from(input);
  }
  const key = parseAnyKey(input);
  requireP256(key, 'the signing key');
  return rawPoint(key);
}

/** CRC-32 (unsigned) of a 64-byte sig-N.key, the number a station lists in `keys`. */
export function keyCrc(sigKey: Uint8Array): number {
  requireSigKeyLength(sigKey);
  return crc32(sigKey) >>> 0;
}

/** An SPKI public KeyObject rebuilt from the 64 raw bytes of a sig-N.key. */
export function publicKeyFromSigKey(sigKey: Uint8Array): KeyObject {
  requireSigKeyLength(sigKey);
  try {
    return createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, sigKey]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw invalidSigningKey(
      'the 64-byte sig-N.key is not a point on curve P-256; re-export it from the key pair ("openssl ec -in sig-0.pub -pubin -outform DER | tail -c 64")',
      undefined,
      cause,
    );
  }
}

/** A P-256 private key from SEC1 or PKCS#8, PEM or DER. */
export function loadPrivateKey(pem: string | Uint8Array): KeyObject {
  const text = pemText(pem);
  let key: KeyObject | null;
  if (text !== null) {
    rejectEncryptedPem(text, 'the private signing key');
    if (!text.includes('PRIVATE KEY-----')) {
      throw invalidSigningKey(
        text.includes('-----BEGIN ')
          ? 'the private signing key PEM holds no private key (a public key cannot sign); pass the sig-N.pem written by "openssl ec -out"'
          : 'the private signing key is neither PEM nor DER; pass the sig-N.pem written by "openssl ec -out"',
      );
    }
    try {
      key = createPrivateKey(text);
    } catch (cause) {
      throw invalidSigningKey('the private signing key PEM cannot be parsed; check that the file is complete', undefined, cause);
    }
  } else {
    key = privateKeyFromDer(asBuffer(pem as Uint8Array));
    if (key === null) {
      throw invalidSigningKey('the private signing key is neither PEM nor a DER SEC1/PKCS#8 private key; pass the sig-N.pem written by "openssl ec -out"');
    }
  }
  requireP256(key, 'the private signing key');
  return key;
}

function requireSigKeyLength(sigKey: Uint8Array): void {
  if (sigKey.byteLength !== SIG_KEY_LENGTH) {
    throw invalidSigningKey(
      `a sig-N.key must be exactly ${SIG_KEY_LENGTH} bytes (X‖Y of a P-256 point), got ${sigKey.byteLength}; the station skips any other size`,
      { length: sigKey.byteLength },
    );
  }
}

function parseAnyKey(input: Uint8Array | string): KeyObject {
  const text = pemText(input);
  if (text !== null) {
    rejectEncryptedPem(text, 'the signing key');
    if (!text.includes('-----BEGIN ')) {
      throw invalidSigningKey('the signing key text is not PEM; pass a PEM public or private key (sig-N.pub / sig-N.pem)');
    }
    try {
      // Derives the public half when the PEM holds a private key.
      return createPublicKey(text);
    } catch (cause) {
      throw invalidSigningKey('the signing key PEM cannot be parsed as a public or private key; check that the file is complete', undefined, cause);
    }
  }
  const der = asBuffer(input as Uint8Array);
  const key = publicKeyFromDer(der) ?? privateKeyFromDer(der);
  if (key === null) {
    throw invalidSigningKey(
      `the signing key (${der.length} bytes) is neither PEM, DER (SPKI, SEC1, PKCS#8) nor a 64-byte sig-N.key`,
      { length: der.length },
    );
  }
  return key;
}
