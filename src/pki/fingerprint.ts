import { createHash } from 'node:crypto';

/** SHA-256 fingerprint of a DER certificate: lowercase hex, no colons. */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
