import { invalid } from './errors.js';

/**
 * CRCs (signing keys, credentials) are shown one way everywhere, as the station logs
 * them (`keycrc=1E02AED9`): `0x` and 8 upper-case hex digits. Input takes that form
 * (with or without `0x`, any case, when it has a hex letter or the prefix) and the
 * decimal number older output printed. JSON keeps the number, for scripts.
 * Pure (no Node API), so the dashboard can import it too.
 */
export function formatCrc(crc: number): string {
  return `0x${(crc >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** `0x1E02AED9`, `1e02aed9` or `503491289`: the CRC as a number; anything else is a clear error naming `field`. */
export function parseCrc(text: string, field: string): number {
  const t = text.trim();
  let n: number;
  if (/^0x[0-9a-f]{1,8}$/i.test(t)) n = Number.parseInt(t.slice(2), 16);
  else if (/^[0-9a-f]{1,8}$/i.test(t) && /[a-f]/i.test(t)) n = Number.parseInt(t, 16);
  else if (/^\d{1,10}$/.test(t)) n = Number(t);
  else n = Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
    throw invalid('invalid_key_crc', `${field} must be a CRC-32 as hex (0x1E02AED9, as bscups and the station print it) or decimal (503491289), got "${text}"`, { field });
  }
  return n;
}
