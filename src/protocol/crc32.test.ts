import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/fixtures.js';
import { crc32 } from './crc32.js';

// Bit-by-bit reference (reflected polynomial 0xEDB88320), independent of zlib.
function referenceCrc32(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}


describe('crc32', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('[4.2] gives 2077607535 over 12 zero bytes (a station with no credential files)', () => {
    expect(crc32(new Uint8Array(12))).toBe(2077607535);
  });

  it('is 0 for no data and stays unsigned when the top bit is set', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    const high = crc32(Buffer.from('123456789'));
    expect(high).toBeGreaterThan(0x7fffffff);
    expect(Number.isInteger(high) && high >= 0).toBe(true);
  });

  it('chains through `previous` exactly like one CRC over the concatenation', () => {
    const a = Buffer.from('trust-bytes');
    const b = Buffer.from([0, 0, 0, 0]);
    const c = Buffer.from('key');
    expect(crc32(c, crc32(b, crc32(a)))).toBe(crc32(Buffer.concat([a, b, c])));
  });

  it('accepts a previous value given as a negative (signed) int', () => {
    const prev = crc32(Buffer.from('abc'));
    expect(crc32(Buffer.from('def'), prev | 0)).toBe(crc32(Buffer.from('abcdef')));
  });

  it('matches a bit-by-bit reference over random inputs and random split points', () => {
    const rnd = seededRandom(42);
    for (let i = 0; i < 200; i++) {
      const data = Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
      const cut = Math.floor(rnd() * (data.length + 1));
      expect(crc32(data)).toBe(referenceCrc32(data));
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(referenceCrc32(data));
    }
  });
});
