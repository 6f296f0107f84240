import { invalid } from '../core/errors.js';
import type { NewFirmwareTarget } from './types.js';

// Checks on what the registry stores for others to trust later; the wire format
// itself is validated by the protocol module before it gets here.

const EUI = /^[0-9A-F]{16}$/;
const SHA256 = /^[0-9a-f]{64}$/i;
const PUBLIC_KEY = /^[0-9a-f]{128}$/i;

export function validateEui(eui: string): void {
  if (!EUI.test(eui)) {
    throw invalid('invalid_eui', `eui must be 16 upper-case hex digits (e.g. 0016C001FF10A235), got "${eui}".`, {
      field: 'eui',
    });
  }
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

export function validateFirmwareTarget(target: NewFirmwareTarget): void {
  if (target.package === '') throw invalid('invalid_firmware_target', 'package must not be empty.', { field: 'package' });
  if (!Number.isSafeInteger(target.size) || target.size < 0) {
    throw invalid('invalid_firmware_target', `size must be a byte count, got ${target.size}.`, { field: 'size' });
  }
  if (!SHA256.test(target.sha256)) {
    throw invalid('invalid_firmware_target', 'sha256 must be 64 hex digits.', { field: 'sha256' });
  }
  if (!Number.isInteger(target.maxOffers) || target.maxOffers < 1) {
    throw invalid('invalid_firmware_target', `maxOffers must be a positive integer, got ${target.maxOffers}.`, {
      field: 'maxOffers',
    });
  }
  for (const s of target.signatures) {
    if (!isUint32(s.keyCrc)) {
      throw invalid('invalid_firmware_target', `signatures[].keyCrc must be an unsigned 32-bit CRC, got ${s.keyCrc}.`, {
        field: 'signatures',
      });
    }
  }
}

export function validateSigningKeyCrc(crc: number): void {
  if (!isUint32(crc)) {
    throw invalid('invalid_signing_key', `crc must be an unsigned 32-bit CRC, got ${crc}.`, { field: 'crc' });
  }
}

export function validateSigningKey(key: { readonly crc: number; readonly publicKey: string }): void {
  validateSigningKeyCrc(key.crc);
  if (!PUBLIC_KEY.test(key.publicKey)) {
    throw invalid('invalid_signing_key', 'publicKey must be the 64 raw bytes X||Y of sig-N.key as 128 hex digits.', {
      field: 'publicKey',
    });
  }
}
