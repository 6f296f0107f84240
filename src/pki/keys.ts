import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { CupsError, invalid } from '../core/errors.js';

/** WebCrypto algorithm of every key this module makes or accepts. */
export const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** Signature algorithm of every certificate this module issues. */
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A fresh key pair: WebCrypto handles for @peculiar/x509 plus the SEC1 encodings stations need. */
export interface GeneratedKey {
  readonly publicKey: webcrypto.CryptoKey;
  readonly privateKey: webcrypto.CryptoKey;
  readonly keyPem: string;
  readonly keySec1Der: Buffer;
}

/** Generates a P-256 key pair. */
export async function generateP256Key(): Promise<GeneratedKey> {
  const pair = await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const keyObject = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return { publicKey: pair.publicKey, privateKey: pair.privateKey, ...sec1Encodings(keyObject) };
}

/** SEC1 PEM and DER of an EC key: PKCS#8 (`30 81 87 …`) would break the station's DER parser. */
export function sec1Encodings(key: KeyObject): { keyPem: string; keySec1Der: Buffer } {
  return {
    keyPem: key.export({ type: 'sec1', format: 'pem' }).toString(),
    keySec1Der: key.export({ type: 'sec1', format: 'der' }),
  };
}

/** Parses a PEM private key (SEC1 or PKCS#8) and insists on P-256; `field` names the input in errors. */
export function parseP256PrivateKey(pem: string, field: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new CupsError(
      'invalid_private_key',
      'invalid_argument',
      `${field} is not a readable unencrypted PEM private key; give an "EC PRIVATE KEY" or "PRIVATE KEY" PEM file without a passphrase`,
      { field },
      { cause: e },
    );
  }
  assertP256(key, field);
  return key;
}

/** Throws unless `key` is an EC key on P-256, the only curve whose SEC1 form stations parse. */
export function assertP256(key: KeyObject, field: string): void {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  if (curve !== 'prime256v1') {
    throw invalid(
      'unsupported_key_type',
      `${field} must be an ECDSA P-256 key (got ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''}); other key types are not supported yet. Create one with: openssl ecparam -name prime256v1 -genkey -noout`,
      { field },
    );
  }
}

/** Imports a SEC1 DER P-256 key as a WebCrypto signing key. */
export async function importSigningKey(keySec1Der: Buffer): Promise<webcrypto.CryptoKey> {
  const pkcs8 = createPrivateKey({ key: keySec1Der, format: 'der', type: 'sec1' }).export({
    type: 'pkcs8',
    format: 'der',
  });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, P256, false, ['sign']);
}
