import { describe, expect, it } from 'vitest';
import { CupsError } from '../core/errors.js';
import { decodeResponse, encodeResponse, encodeResponseHead, NOTHING_TO_CHANGE } from './response.js';
import type { DecodedResponse } from './types.js';

const GOLDEN =
  '15687474703a2f2f3132372e302e302e313a363039311377733a2f2f3132372e302e302e313a36303932000000000000000000000000';

function codeOf(fn: () => unknown): CupsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CupsError);
    return e as CupsError;
  }
  throw new Error('expected a CupsError');
}

const EMPTY: DecodedResponse = { cupsUri: null, tcUri: null, cupsCred: null, tcCred: null, keyCrc: null, signature: null, update: null };

describe('[2.1] nothing to change', () => {
  it('is exactly 14 zero bytes', () => {
    expect(NOTHING_TO_CHANGE).toHaveLength(14);
    expect([...NOTHING_TO_CHANGE].every((b) => b === 0)).toBe(true);
  });

  it('is what an empty head encodes to, and decodes to no changes', () => {
    expect(encodeResponse({}).equals(NOTHING_TO_CHANGE)).toBe(true);
    expect(encodeResponseHead({ updateLength: 0 }).equals(NOTHING_TO_CHANGE)).toBe(true);
    expect(decodeResponse(NOTHING_TO_CHANGE)).toEqual(EMPTY);
  });
});

describe('[2.3] golden vector', () => {
  it('encodes the URI-only update to the 54 golden bytes', () => {
    const body = encodeResponse({ cupsUri: 'http://127.0.0.1:6091', tcUri: 'ws://127.0.0.1:6092' });
    expect(body).toHaveLength(54);
    expect(body.toString('hex')).toBe(GOLDEN);
  });

  it('decodes the golden bytes', () => {
    expect(decodeResponse(Buffer.from(GOLDEN, 'hex'))).toEqual({ ...EMPTY, cupsUri: 'http://127.0.0.1:6091', tcUri: 'ws://127.0.0.1:6092' });
  });
});

describe('[2] [2.6] segment framing', () => {
  it('frames every segment little-endian, sigLen = 4 + DER length with keyCRC inside', () => {
    const signature = Buffer.from('3006020101020102', 'hex');
    const update = Buffer.from('UPD!');
    const body = encodeResponse(
      { cupsUri: 'http://a:1', tcUri: 'ws://b:2', cupsCred: Buffer.from([0xaa, 0xbb, 0xcc]), tcCred: Buffer.from([0xdd]), firmware: { keyCrc: 0x11223344, signature } },
      update,
    );
    // Built by hand from the table of section 2, not with the encoder.
    const expected = Buffer.concat([
      Buffer.from([10]), Buffer.from('http://a:1'),
      Buffer.from([8]), Buffer.from('ws://b:2'),
      Buffer.from([0x03, 0x00]), Buffer.from([0xaa, 0xbb, 0xcc]),
      Buffer.from([0x01, 0x00]), Buffer.from([0xdd]),
      Buffer.from([0x0c, 0x00, 0x00, 0x00]), // sigLen = 4 + 8
      Buffer.from([0x44, 0x33, 0x22, 0x11]), // keyCRC, LE
      signature,
      Buffer.from([0x04, 0x00, 0x00, 0x00]), // updLen
      update,
    ]);
    expect(body.toString('hex')).toBe(expected.toString('hex'));
  });

  it('never writes the defective framing that leaves the 4 CRC bytes out of sigLen', () => {
    const signature = Buffer.alloc(71, 0x30);
    const head = encodeResponseHead({ firmware: { keyCrc: 1, signature }, updateLength: 10 });
    expect(head.readUInt32LE(6)).toBe(75);
    expect(head.readUInt32LE(6)).not.toBe(71);
    expect(head).toHaveLength(1 + 1 + 2 + 2 + 4 + 75 + 4);
    expect(head.readUInt32LE(head.length - 4)).toBe(10);
  });

  it('puts a 2-byte cred length and a 4-byte update length in the head only (update streamed after)', () => {
    const cred = Buffer.alloc(300, 7);
    const head = encodeResponseHead({ tcCred: cred, updateLength: 0x01020304 });
    expect(head.subarray(0, 6).toString('hex')).toBe('0000' + '0000' + '2c01');
    expect(head.subarray(head.length - 8).toString('hex')).toBe('00000000' + '04030201');
    expect(head).toHaveLength(2 + 2 + 2 + 300 + 4 + 4);
  });
});

describe('[2.4] station limits in the encoder', () => {
  it.each<[string, () => unknown, string, string]>([
    ['URI of 256 bytes', () => encodeResponseHead({ cupsUri: `http://${'a'.repeat(249)}`, updateLength: 0 }), 'response_too_large', 'cupsUri'],
    ['non-ASCII URI', () => encodeResponseHead({ tcUri: 'ws://é:1', updateLength: 0 }), 'invalid_response', 'tcUri'],
    ['URI with NUL', () => encodeResponseHead({ tcUri: 'ws://a\0:1', updateLength: 0 }), 'invalid_response', 'tcUri'],
    ['credential of 65536 bytes', () => encodeResponseHead({ cupsCred: new Uint8Array(65536), updateLength: 0 }), 'response_too_large', 'cupsCred'],
    ['signature of 7 bytes', () => encodeResponseHead({ firmware: { keyCrc: 1, signature: new Uint8Array(7) }, updateLength: 1 }), 'invalid_response', 'signature'],
    ['signature of 129 bytes', () => encodeResponseHead({ firmware: { keyCrc: 1, signature: new Uint8Array(129) }, updateLength: 1 }), 'invalid_response', 'signature'],
    ['keyCrc of 2^32', () => encodeResponseHead({ firmware: { keyCrc: 2 ** 32, signature: new Uint8Array(8) }, updateLength: 1 }), 'invalid_response', 'keyCrc'],
    ['keyCrc negative', () => encodeResponseHead({ firmware: { keyCrc: -1, signature: new Uint8Array(8) }, updateLength: 1 }), 'invalid_response', 'keyCrc'],
    ['signature without update', () => encodeResponseHead({ firmware: { keyCrc: 1, signature: new Uint8Array(8) }, updateLength: 0 }), 'invalid_response', 'signature'],
    ['update of 2^31 bytes', () => encodeResponseHead({ updateLength: 2 ** 31 }), 'response_too_large', 'updateLength'],
    ['negative update length', () => encodeResponseHead({ updateLength: -1 }), 'invalid_response', 'updateLength'],
    ['fractional update length', () => encodeResponseHead({ updateLength: 1.5 }), 'invalid_response', 'updateLength'],
  ])('refuses a %s', (_name, fn, code, field) => {
    const err = codeOf(fn);
    expect(err.code).toBe(code);
    expect(err.kind).toBe('internal');
    expect(err.details?.field).toBe(field);
    expect(err.message).toContain(`"${field}"`);
  });

  it('accepts the boundaries: 255-byte URI, 65535-byte credential, 8 and 128-byte signatures, 2^31-1 update', () => {
    const uri = `http://${'a'.repeat(248)}`;
    expect(uri).toHaveLength(255);
    expect(encodeResponseHead({ cupsUri: uri, updateLength: 0 })[0]).toBe(255);
    expect(encodeResponseHead({ cupsCred: new Uint8Array(65535), updateLength: 0 }).readUInt16LE(2)).toBe(65535);
    expect(encodeResponseHead({ firmware: { keyCrc: 0, signature: new Uint8Array(8) }, updateLength: 1 }).readUInt32LE(6)).toBe(12);
    expect(encodeResponseHead({ firmware: { keyCrc: 0xffffffff, signature: new Uint8Array(128) }, updateLength: 1 }).readUInt32LE(6)).toBe(132);
    const big = encodeResponseHead({ updateLength: 2 ** 31 - 1 });
    expect(big.readUInt32LE(10)).toBe(2 ** 31 - 1);
  });

  it('both URI segments always fit in the first 8 KB the station reads', () => {
    const head = encodeResponseHead({ cupsUri: `http://${'a'.repeat(248)}`, tcUri: `ws://${'b'.repeat(250)}`, cupsCred: new Uint8Array(65535), updateLength: 0 });
    const urisEnd = 1 + head[0]! + 1 + head[1 + head[0]!]!;
    expect(urisEnd).toBe(512);
    expect(urisEnd).toBeLessThan(8192);
  });

  it('treats an empty URI or credential as "no change" (length 0)', () => {
    expect(encodeResponse({ cupsUri: '', cupsCred: new Uint8Array(0) }).equals(NOTHING_TO_CHANGE)).toBe(true);
  });
});

describe('[2.2] round trips', () => {
  it('encode -> decode gives back every field; absent fields decode as null', () => {
    const cases = [
      { head: { cupsUri: 'https://cups.example.com:443' }, update: undefined },
      { head: { tcUri: 'wss://lns.example.com:8887' }, update: undefined },
      { head: { cupsCred: Buffer.from('cups-cred') }, update: undefined },
      { head: { tcCred: Buffer.alloc(65535, 9) }, update: undefined },
      { head: {}, update: Buffer.alloc(2 * 1024 * 1024, 0x5a) },
      { head: { firmware: { keyCrc: 3157685580, signature: Buffer.alloc(72, 0x30) } }, update: Buffer.from('#!/bin/sh\n') },
      {
        head: { cupsUri: 'http://a:1', tcUri: 'ws://b:2', cupsCred: Buffer.from('c'), tcCred: Buffer.from('t'), firmware: { keyCrc: 1, signature: Buffer.alloc(128, 1) } },
        update: Buffer.from('u'),
      },
    ];
    for (const { head, update } of cases) {
      const decoded = decodeResponse(encodeResponse(head, update));
      // Buffer.equals, because deep equality over a 2 MB update takes seconds.
      const same = (got: Buffer | null, want: Uint8Array | undefined): boolean =>
        want === undefined ? got === null : got !== null && got.equals(want);
      expect(decoded.cupsUri).toBe(head.cupsUri ?? null);
      expect(decoded.tcUri).toBe(head.tcUri ?? null);
      expect(decoded.keyCrc).toBe(head.firmware?.keyCrc ?? null);
      expect(same(decoded.cupsCred, head.cupsCred)).toBe(true);
      expect(same(decoded.tcCred, head.tcCred)).toBe(true);
      expect(same(decoded.signature, head.firmware?.signature)).toBe(true);
      expect(same(decoded.update, update)).toBe(true);
    }
  });

  it('head + streamed update equals encodeResponse', () => {
    const update = Buffer.from('firmware-bytes');
    const head = encodeResponseHead({ tcUri: 'ws://x:1', updateLength: update.length });
    expect(Buffer.concat([head, update]).equals(encodeResponse({ tcUri: 'ws://x:1' }, update))).toBe(true);
  });

  it('decoded buffers are copies, not views of the body', () => {
    const body = encodeResponse({ cupsCred: Buffer.from('abc') });
    const decoded = decodeResponse(body);
    body.fill(0);
    expect(decoded.cupsCred?.toString()).toBe('abc');
  });
});

describe('[2.5] strict decoding', () => {
  it.each<[number, string]>([
    [0, 'cupsUriLen'],
    [1, 'tcUriLen'],
    [2, 'cupsCredLen'],
    [3, 'cupsCredLen'],
    [4, 'tcCredLen'],
    [6, 'sigLen'],
    [9, 'sigLen'],
    [10, 'updLen'],
    [13, 'updLen'],
  ])('a body of %i zero bytes fails naming %s', (n, segment) => {
    const err = codeOf(() => decodeResponse(new Uint8Array(n)));
    expect(err.code).toBe('invalid_response');
    expect(err.details?.field).toBe(segment);
    expect(err.message).toContain(`"${segment}"`);
  });

  it('a body cut inside a segment names that segment', () => {
    const full = encodeResponse({ cupsUri: 'http://a:1', tcUri: 'ws://b:2', cupsCred: Buffer.from('cred'), firmware: { keyCrc: 5, signature: Buffer.alloc(8, 1) } }, Buffer.from('update'));
    const cuts: [number, string][] = [
      [5, 'cupsUri'],
      [12, 'tcUri'],
      [23, 'cupsCred'],
      [33, 'keyCrc'],
      [40, 'signature'],
      [full.length - 1, 'update'],
    ];
    for (const [at, segment] of cuts) expect(codeOf(() => decodeResponse(full.subarray(0, at))).details?.field).toBe(segment);
  });

  it('ignores bytes after the last segment', () => {
    const body = Buffer.concat([Buffer.from(GOLDEN, 'hex'), Buffer.from('trailing junk')]);
    expect(decodeResponse(body).cupsUri).toBe('http://127.0.0.1:6091');
    expect(decodeResponse(Buffer.concat([NOTHING_TO_CHANGE, Buffer.alloc(100, 0xff)]))).toEqual(EMPTY);
  });

  it.each([1, 4, 7, 133, 0xffffffff])('refuses sigLen %i (station takes 0 or 8..132)', (sigLen) => {
    const body = Buffer.alloc(14 + 200);
    body.writeUInt32LE(sigLen, 6);
    expect(codeOf(() => decodeResponse(body)).details?.field).toBe('sigLen');
  });

  it('accepts sigLen 8 and 132', () => {
    for (const sigLen of [8, 132]) {
      const body = Buffer.alloc(10 + sigLen + 4);
      body.writeUInt32LE(sigLen, 6);
      body.writeUInt32LE(0xdeadbeef, 10);
      const decoded = decodeResponse(body);
      expect(decoded.keyCrc).toBe(0xdeadbeef);
      expect(decoded.signature).toHaveLength(sigLen - 4);
    }
  });

  it('refuses updLen of 2^31 or more even if the bytes were there', () => {
    const body = Buffer.alloc(14);
    body.writeUInt32LE(0x80000000, 10);
    expect(codeOf(() => decodeResponse(body)).message).toMatch(/2 GiB/);
  });

  it('refuses URIs with NUL or non-ASCII bytes', () => {
    expect(codeOf(() => decodeResponse(Buffer.from('0161' + '00' + '0000000000000000000000', 'hex').fill(0, 1, 2))).details?.field).toBe('cupsUri');
    expect(codeOf(() => decodeResponse(Buffer.from('0001ff' + '0000000000000000000000', 'hex'))).details?.field).toBe('tcUri');
  });
});
