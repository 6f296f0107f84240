import { generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it, expect } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import {
  generateSigningKey,
  isDerSignatureForStation,
  loadPrivateKey,
  signBuffer,
  signStream,
  verifyBuffer,
  verifyStream,
} from '../src/signing/index.js';

async function* chunksOf(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

async function rejection(p: Promise<unknown>): Promise<CupsError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CupsError);
  return e as CupsError;
}

describe('signBuffer / verifyBuffer', () => {
  const key = generateSigningKey();
  const other = generateSigningKey();
  const data = randomBytes(10_000);

  it('signs with a PEM string or a KeyObject; ECDSA is randomised but both verify', () => {
    const a = signBuffer(data, key.privateKeyPem);
    const b = signBuffer(data, loadPrivateKey(key.privateKeyPem));
    expect(a.equals(b)).toBe(false);
    expect(verifyBuffer(data, a, key.sigKey)).toBe(true);
    expect(verifyBuffer(data, b, key.sigKey)).toBe(true);
    expect(isDerSignatureForStation(a)).toBe(true);
  });

  it('rejects a changed byte, another key, and malformed signatures without throwing', () => {
    const sig = signBuffer(data, key.privateKeyPem);
    const changed = Buffer.from(data);
    changed[5000] = changed[5000]! ^ 0x01;
    expect(verifyBuffer(changed, sig, key.sigKey)).toBe(false);
    expect(verifyBuffer(data, sig, other.sigKey)).toBe(false);
    const raw = nodeSign('sha512', data, { key: loadPrivateKey(key.privateKeyPem), dsaEncoding: 'ieee-p1363' });
    for (const bad of [Buffer.alloc(0), Buffer.from('garbage'), raw, Buffer.concat([sig, Buffer.from([0])]), sig.subarray(0, sig.length - 1)]) {
      expect(verifyBuffer(data, bad, key.sigKey)).toBe(false);
    }
  });

  it('throws invalid_signing_key for an unusable sig-N.key rather than answering false', () => {
    const sig = signBuffer(data, key.privateKeyPem);
    expect(() => verifyBuffer(data, sig, key.sigKey.subarray(1))).toThrow(/exactly 64 bytes/);
  });

  it('refuses to sign with a public key or a key on another curve', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(() => signBuffer(data, pair.publicKey)).toThrow(/public key cannot sign/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    expect(() => signBuffer(data, p384)).toThrow(/secp384r1/);
  });
});

describe('signStream / verifyStream', () => {
  const key = generateSigningKey();
  const data = randomBytes(300_000);

  it('matches the buffer functions whatever the chunking', async () => {
    const fromStream = await signStream(chunksOf(data, 7_777), key.privateKeyPem);
    expect(verifyBuffer(data, fromStream, key.sigKey)).toBe(true);
    const fromBuffer = signBuffer(data, key.privateKeyPem);
    expect(await verifyStream(Readable.from(chunksOf(data, 1)), fromBuffer, key.sigKey)).toBe(true);
    expect(await verifyStream(chunksOf(data, 65_536), fromStream, key.sigKey)).toBe(true);
  });

  it('rejects a stream that differs by one byte', async () => {
    const sig = signBuffer(data, key.privateKeyPem);
    const changed = Buffer.from(data);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0x80;
    expect(await verifyStream(chunksOf(changed, 4096), sig, key.sigKey)).toBe(false);
    expect(await verifyStream(chunksOf(data.subarray(1), 4096), sig, key.sigKey)).toBe(false);
  });

  it('refuses a text stream, which has lost bytes', async () => {
    const text = Readable.from([data]).setEncoding('utf8');
    const err = await rejection(signStream(text, key.privateKeyPem));
    expect(err.code).toBe('invalid_byte_source');
    expect(err.message).toMatch(/setEncoding/);
  });

  it('checks the key before reading any of the stream', async () => {
    let pulled = 0;
    async function* counting(): AsyncGenerator<Uint8Array> {
      pulled++;
      yield data;
    }
    expect((await rejection(signStream(counting(), 'junk'))).code).toBe('invalid_signing_key');
    expect((await rejection(verifyStream(counting(), Buffer.alloc(70), Buffer.alloc(12)))).code).toBe('invalid_signing_key');
    expect(pulled).toBe(0);
  });
});

describe('isDerSignatureForStation', () => {
  const real = signBuffer(Buffer.from('x'), generateSigningKey().privateKeyPem);

  it('accepts real signatures and the DER extremes of 8 and 128 bytes', () => {
    expect(isDerSignatureForStation(real)).toBe(true);
    expect(isDerSignatureForStation(Buffer.from('3006020101020101', 'hex'))).toBe(true);
    // 30 81 7D | 02 3D <61 bytes> | 02 3C <60 bytes> = 128 bytes, long-form length.
    const big = Buffer.concat([Buffer.from('30817d023d', 'hex'), Buffer.alloc(61, 1), Buffer.from('023c', 'hex'), Buffer.alloc(60, 1)]);
    expect(big).toHaveLength(128);
    expect(isDerSignatureForStation(big)).toBe(true);
  });

  it('refuses sizes the station cannot hold and bytes that are not SEQUENCE{INTEGER, INTEGER}', () => {
    const p1363 = Buffer.concat([Buffer.alloc(32, 1), Buffer.alloc(32, 2)]);
    const cases: Buffer[] = [
      Buffer.from('30050201010201', 'hex'), // 7 bytes
      Buffer.concat([Buffer.from('30817e023e', 'hex'), Buffer.alloc(62, 1), Buffer.from('023c', 'hex'), Buffer.alloc(60, 1)]), // 129
      p1363, // raw r‖s, the usual upload mistake
      Buffer.concat([real, Buffer.from([0])]), // trailing byte
      Buffer.concat([Buffer.from([0x31]), real.subarray(1)]), // SET, not SEQUENCE
      Buffer.from('3006020101040101', 'hex'), // OCTET STRING for s
      Buffer.from('3006020001020101', 'hex'), // empty r, then leftover bytes
      Buffer.from('300702010102010100', 'hex'), // a stray byte inside the SEQUENCE
      Buffer.from('3008020101020101', 'hex'), // SEQUENCE longer than the buffer
      Buffer.from('3082000602010102', 'hex'), // two-byte long form, never needed at this size
    ];
    for (const c of cases) expect(isDerSignatureForStation(c), c.toString('hex')).toBe(false);
  });
});
