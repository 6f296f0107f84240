import { createHash } from 'node:crypto';
import type { NewFirmwareTarget } from '../../src/registry/types.js';

/**
 * A 1.0.0 -> 2.0.0 firmware target for `update` stored as `blob`, with a
 * placeholder signature by the key `keyCrc` (the station checks it, not the
 * server) and three offers.
 */
export function firmwareTarget(blob: string, update: Buffer, keyCrc: number, requestedAt = new Date()): NewFirmwareTarget {
  return {
    package: '2.0.0',
    blob,
    size: update.length,
    sha256: createHash('sha256').update(update).digest('hex'),
    signatures: [{ keyCrc, signature: Buffer.from('3006020101020101', 'hex').toString('base64') }],
    maxOffers: 3,
    fromPackage: '1.0.0',
    requestedAt,
  };
}
