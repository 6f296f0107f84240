import { invalid } from '../../core/errors.js';
import { sigKeyFromPublicKey } from '../../signing/index.js';

/** A file sent in JSON: PEM (or other) text as it is, anything else as base64 of its bytes. */
export function fileParam(value: string, field: string): Buffer {
  if (value.includes('-----BEGIN')) return Buffer.from(value, 'utf8');
  const compact = value.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw invalid('invalid_file_encoding', `${field} must be PEM text or base64 of the DER bytes`, { field });
  }
  return Buffer.from(compact, 'base64');
}

/** A sig-N.key sent as 128 hex digits (the 64 bytes a station holds). */
export function sigKeyParam(value: string): Buffer {
  if (!/^[0-9a-fA-F]{128}$/.test(value)) throw invalid('invalid_public_key', 'publicKey must be a sig-N.key as 128 hex digits', { field: 'publicKey' });
  return sigKeyFromPublicKey(Buffer.from(value, 'hex'));
}
