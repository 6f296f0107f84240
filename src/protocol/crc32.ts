import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * Standard CRC-32 (zlib / IEEE 802.3), as the station computes it over files and
 * sig-N.key. Always returned unsigned, because JavaScript bit operations would
 * otherwise give negative numbers that never equal what the station reports.
 * Pass the previous result as `previous` to chain over several buffers.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  return zlibCrc32(data, previous >>> 0) >>> 0;
}
