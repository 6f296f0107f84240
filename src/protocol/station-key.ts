import { createPrivateKey, type KeyObject } from 'node:crypto';
import { CupsError } from '../core/errors.js';
import { stationDerLength, toDer } from './der.js';

function unparseable(message: string): CupsError {
  return new CupsError('unparseable_credential', 'invalid_argument', message, { field: 'key' });
}

/** Load an unencrypted PEM or DER private key in PKCS#8, SEC1 or PKCS#1 form. */
export function loadPrivateKey(input: Uint8Array): KeyObject {
  const der = toDer(input, 'private key', 'key');
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch {
      // Not this encoding; try the next one.
    }
  }
  throw unparseable('the private key is not an unencrypted PKCS#8, SEC1 (EC) or PKCS#1 (RSA) key; check the file or decrypt it first');
}

/**
 * Convert a PEM or DER private key (PKCS#8, SEC1 or PKCS#1) into the form the
 * station parses: SEC1 DER for EC keys (`30 77...` for P-256), PKCS#1 DER for RSA.
 */
export function normaliseStationKey(input: Uint8Array): Buffer {
  const key = loadPrivateKey(input);
  let der: Buffer;
  if (key.asymmetricKeyType === 'ec') der = key.export({ format: 'der', type: 'sec1' });
  else if (key.asymmetricKeyType === 'rsa') der = key.export({ format: 'der', type: 'pkcs1' });
  else throw unparseable(`the private key is of type ${key.asymmetricKeyType ?? 'unknown'}; the station supports EC (P-256) and RSA keys only`);
  if (stationDerLength(der, 0) !== der.length) {
    // e.g. a P-384 SEC1 key is 167 bytes and uses the `30 81` length form.
    throw unparseable(
      `the ${key.asymmetricKeyType === 'ec' ? `EC (${String(key.asymmetricKeyDetails?.namedCurve)})` : 'RSA'} key encodes to ${der.length} bytes ` +
        `with a DER length form the station cannot parse; use a P-256 EC key or an RSA key of 1024 bits or more`,
    );
  }
  return der;
}
