import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CupsError } from '../core/errors.js';

/** Length of a station `sig-N.key`: raw X‖Y of an uncompressed P-256 point. */
export const SIG_KEY_LENGTH = 64;

/**
 * DER SubjectPublicKeyInfo prefix for a named-curve P-256 key up to and
 * including the 0x04 "uncompressed point" byte; X‖Y follows. This is why
 * `tail -c 64` of the DER public key is the sig-N.key.
 */
export const P256_SPKI_PREFIX: Buffer = Buffer.from(
  '3059301306072a8648ce3d020106082a8648ce3d03010703420004',
  'hex',
);

const OPENSSL_HINT =
  'LoRa Basics Station only verifies ECDSA P-256 (prime256v1) signatures; ' +
  'create a key with "openssl ecparam -name prime256v1 -genkey | openssl ec -out sig-0.pem" or "bscups" key generation';

/** The one error this module throws for a key it cannot use. */
export function invalidSigningKey(message: string, details?: Record<string, unknown>, cause?: unknown): CupsError {
  return new CupsError('invalid_signing_key', 'invalid_argument', message, details, cause === undefined ? undefined : { cause });
}

/** Throws `invalid_signing_key` unless `key` is an EC key on P-256. */
export function requireP256(key: KeyObject, what: string): void {
  if (key.type === 'secret') {
    throw invalidSigningKey(`${what} is a symmetric secret, not an EC key pair. ${OPENSSL_HINT}`);
  }
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type !== 'ec') {
    throw invalidSigningKey(`${what} has key type ${type.toUpperCase()}, not EC. ${OPENSSL_HINT}`, { keyType: type });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
  if (curve !== 'prime256v1') {
    throw invalidSigningKey(`${what} is on curve ${curve}. ${OPENSSL_HINT}`, { curve });
  }
}

/** X‖Y of a P-256 key (public, or the public half of a private key), whatever point encoding it was read from. */
export function rawPoint(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  // JWK always carries both coordinates, so a key stored with a compressed
  // point still yields the X‖Y the station needs.
  const jwk = pub.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw invalidSigningKey('the signing key has no EC point to export. ' + OPENSSL_HINT);
  }
  return Buffer.concat([coordinate(jwk.x), coordinate(jwk.y)]);
}

function coordinate(b64url: string): Buffer {
  const raw = Buffer.from(b64url, 'base64url');
  const out = Buffer.alloc(32);
  raw.copy(out, 32 - raw.length);
  return out;
}

/** Text of a PEM input, or null when the bytes are not PEM (then they are DER). */
export function pemText(input: Uint8Array | string): string | null {
  if (typeof input === 'string') return input;
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  return text.includes('-----BEGIN ') ? text : null;
}

/** Throws a clear error for passphrase-protected PEM, which this project does not decrypt. */
export function rejectEncryptedPem(text: string, what: string): void {
  if (text.includes('ENCRYPTED')) {
    throw invalidSigningKey(
      `${what} is encrypted with a passphrase; decrypt it first ("openssl ec -in key.pem -out plain.pem") and keep the plain file protected`,
    );
  }
}

/** Parses DER as a private key: PKCS#8, then SEC1, then PKCS#1 (RSA, so the error can say "RSA"). */
export function privateKeyFromDer(der: Buffer): KeyObject | null {
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // Not this encoding; the caller reports when none fits.
    }
  }
  return null;
}

/** Parses DER as a public key: SPKI, then PKCS#1 RSA. */
export function publicKeyFromDer(der: Buffer): KeyObject | null {
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return createPublicKey({ key: der, format: 'der', type });
    } catch {
      // Not this encoding; the caller reports when none fits.
    }
  }
  return null;
}

/** A Buffer view over any Uint8Array without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
