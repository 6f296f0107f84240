import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it, expect } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { generateSigningKey, signBuffer, verifyWithStationKeys } from '../src/signing/index.js';

const signer = generateSigningKey();
const other = generateSigningKey();
const update = randomBytes(50_000);
const signature = signBuffer(update, signer.privateKeyPem);
const offCurve = Buffer.from(signer.sigKey);
offCurve[63] = offCurve[63]! ^ 1;

async function* chunks(data: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += 8192) yield data.subarray(off, off + 8192);
}

/** A source that fails the test if anything reads it. */
function untouchable(): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      throw new Error('the update must not be read here');
    },
  };
}

describe('verifyWithStationKeys: the PROTOCOL.md 5.4 table', () => {
  const table: [string, Uint8Array | null, (Uint8Array | null)[], string, number?][] = [
    ['no key, no signature → runs unsigned', null, [], 'unsigned-run'],
    ['sig-0.key missing, sig-1.key present, no signature → runs unsigned (only sig-0 is checked)', null, [null, signer.sigKey], 'unsigned-run'],
    ['a key, no signature → aborts', null, [signer.sigKey], 'no-signature-abort'],
    ['a sig-0.key of the wrong size, no signature → still aborts (the station checks only that the file exists)', null, [Buffer.alloc(10)], 'no-signature-abort'],
    ['an empty sig-0.key, no signature → aborts', null, [Buffer.alloc(0)], 'no-signature-abort'],
    ['a signature but no key at all → bad signature', signature, [], 'bad-signature'],
    ['a signature and only unusable key files → bad signature', signature, [Buffer.alloc(63), Buffer.alloc(65)], 'bad-signature'],
    ['the signer is sig-0 → verified by key 0', signature, [signer.sigKey, other.sigKey], 'verified', 0],
    ['the signer is sig-1 → verified by key 1', signature, [other.sigKey, signer.sigKey], 'verified', 1],
    ['files of the wrong size are skipped', signature, [Buffer.alloc(65), Buffer.alloc(0), signer.sigKey], 'verified', 2],
    ['a 64-byte file off the curve is tried and fails, the next one verifies', signature, [offCurve, signer.sigKey], 'verified', 1],
    ['the search stops at the first missing file', signature, [other.sigKey, null, signer.sigKey], 'bad-signature'],
    ['no key verifies → bad signature', signature, [other.sigKey], 'bad-signature'],
  ];

  for (const [name, sig, keys, outcome, keyIndex] of table) {
    it(name, async () => {
      const fromBuffer = await verifyWithStationKeys(update, sig, keys);
      const fromStream = await verifyWithStationKeys(chunks(update), sig, keys);
      const want = keyIndex === undefined ? { outcome } : { outcome, keyIndex };
      expect(fromBuffer).toEqual(want);
      expect(fromStream).toEqual(want);
    });
  }

  it('a signature over other bytes is bad, also from a Node readable', async () => {
    const changed = Buffer.from(update);
    changed[0] = changed[0]! ^ 1;
    expect(await verifyWithStationKeys(Readable.from(chunks(changed)), signature, [signer.sigKey])).toEqual({ outcome: 'bad-signature' });
  });

  it('reads the update once for all keys, and not at all when nothing can be verified', async () => {
    let reads = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      reads++;
      yield* chunks(update);
    }
    const keys = [other.sigKey, generateSigningKey().sigKey, signer.sigKey];
    expect(await verifyWithStationKeys(counted(), signature, keys)).toEqual({ outcome: 'verified', keyIndex: 2 });
    expect(reads).toBe(1);
    expect(await verifyWithStationKeys(untouchable(), null, [signer.sigKey])).toEqual({ outcome: 'no-signature-abort' });
    expect(await verifyWithStationKeys(untouchable(), signature, [null, signer.sigKey])).toEqual({ outcome: 'bad-signature' });
  });

  it('refuses a signature length the station rejects before verifying', async () => {
    for (const len of [3, 129]) {
      const err: unknown = await verifyWithStationKeys(update, Buffer.alloc(len, 0x30), [signer.sigKey]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CupsError);
      expect((err as CupsError).code).toBe('invalid_signature_length');
    }
    // 4 bytes is the smallest signature the station accepts; it simply fails to verify.
    expect(await verifyWithStationKeys(update, Buffer.from('30020200', 'hex'), [signer.sigKey])).toEqual({ outcome: 'bad-signature' });
  });
});
