import { createPublicKey, generateKeyPairSync, ECDH, type KeyObject } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import {
  P256_SPKI_PREFIX,
  generateSigningKey,
  keyCrc,
  loadPrivateKey,
  publicKeyFromSigKey,
  sigKeyFromPublicKey,
} from '../src/signing/index.js';

/** Bit-by-bit reflected CRC-32 (poly 0xEDB88320), written independently of node:zlib to cross-check keyCrc. */
function referenceCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// The P-256 base point G (SEC 2), a valid public key whose coordinates are published constants.
const G = Buffer.from(
  '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' +
    '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
  'hex',
);

function expectInvalidKey(fn: () => unknown, messagePart?: RegExp): CupsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CupsError);
  const err = caught as CupsError;
  expect(err.code).toBe('invalid_signing_key');
  expect(err.kind).toBe('invalid_argument');
  if (messagePart) expect(err.message).toMatch(messagePart);
  return err;
}

describe('generateSigningKey', () => {
  it('returns a SEC1 PEM, its 64-byte X‖Y and the unsigned CRC', () => {
    const k = generateSigningKey();
    expect(k.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+-----END EC PRIVATE KEY-----\n$/);
    expect(k.sigKey).toHaveLength(64);
    const spki = createPublicKey(k.privateKeyPem).export({ type: 'spki', format: 'der' });
    expect(k.sigKey.equals(spki.subarray(spki.length - 64))).toBe(true);
    expect(k.crc).toBe(referenceCrc32(k.sigKey));
    expect(Number.isInteger(k.crc) && k.crc >= 0 && k.crc <= 0xffffffff).toBe(true);
  });

  it('generates a different key each time', () => {
    expect(generateSigningKey().sigKey.equals(generateSigningKey().sigKey)).toBe(false);
  });
});

describe('keyCrc', () => {
  it('is the standard CRC-32 of the 64 bytes, unsigned', () => {
    expect(keyCrc(G)).toBe(referenceCrc32(G));
    // Find a key whose CRC has the top bit set, where a signed result would go negative.
    let k = generateSigningKey();
    while (k.crc < 0x80000000) k = generateSigningKey();
    expect(keyCrc(k.sigKey)).toBe(referenceCrc32(k.sigKey));
    expect(keyCrc(k.sigKey)).toBeGreaterThanOrEqual(0x80000000);
  });

  it('refuses anything but 64 bytes', () => {
    expectInvalidKey(() => keyCrc(G.subarray(0, 63)), /exactly 64 bytes/);
    expectInvalidKey(() => keyCrc(Buffer.concat([Buffer.from([4]), G])), /got 65/);
  });
});

describe('sigKeyFromPublicKey', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  const expected = spkiDer.subarray(spkiDer.length - 64);

  const forms: [string, Uint8Array | string | KeyObject][] = [
    ['public KeyObject', publicKey],
    ['private KeyObject', privateKey],
    ['SPKI PEM', publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ['SPKI PEM as bytes', Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }).toString())],
    ['SPKI DER', spkiDer],
    ['SPKI DER as a plain Uint8Array', new Uint8Array(spkiDer)],
    ['SEC1 PEM', privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
    ['SEC1 DER', privateKey.export({ type: 'sec1', format: 'der' })],
    ['PKCS#8 PEM', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['PKCS#8 DER', privateKey.export({ type: 'pkcs8', format: 'der' })],
    ['raw sig-N.key', Buffer.from(expected)],
  ];
  for (const [name, input] of forms) {
    it(`reads ${name}`, () => {
      expect(sigKeyFromPublicKey(input).equals(expected)).toBe(true);
    });
  }

  it('checks that the DER public key is the fixed P-256 prefix followed by the sig-N.key', () => {
    expect(spkiDer.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX)).toBe(true);
    expect(spkiDer.length).toBe(P256_SPKI_PREFIX.length + 64);
  });

  it('returns a copy of a raw key, not the caller buffer', () => {
    const raw = Buffer.from(G);
    const out = sigKeyFromPublicKey(raw);
    raw[0] = 0;
    expect(out.equals(G)).toBe(true);
  });

  it('expands a compressed point to X‖Y (a plain tail -c 64 would not)', () => {
    const compressed = ECDH.convertKey(Buffer.concat([Buffer.from([4]), G]), 'prime256v1', undefined, undefined, 'compressed') as Buffer;
    const spkiCompressed = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), compressed]);
    expect(sigKeyFromPublicKey(spkiCompressed).equals(G)).toBe(true);
  });

  it('refuses a 64-byte key that is not on the curve', () => {
    const offCurve = Buffer.from(G);
    offCurve[63] = offCurve[63]! ^ 1;
    expectInvalidKey(() => sigKeyFromPublicKey(offCurve), /not a point on curve P-256/);
    expectInvalidKey(() => sigKeyFromPublicKey(Buffer.alloc(64)), /not a point/);
  });

  it('refuses other curves and key types, naming P-256', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey;
    expectInvalidKey(() => sigKeyFromPublicKey(p384), /secp384r1[\s\S]*P-256/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    expectInvalidKey(() => sigKeyFromPublicKey(k1.export({ type: 'sec1', format: 'pem' }).toString()), /secp256k1/);
    const ed = generateKeyPairSync('ed25519').publicKey;
    expectInvalidKey(() => sigKeyFromPublicKey(ed.export({ type: 'spki', format: 'der' })), /ED25519, not EC/);
  });

  it('refuses garbage with a message saying what is expected', () => {
    expectInvalidKey(() => sigKeyFromPublicKey('hello'), /not PEM/);
    expectInvalidKey(() => sigKeyFromPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), /cannot be parsed/);
    expectInvalidKey(() => sigKeyFromPublicKey(Buffer.from('30030201ff', 'hex')), /neither PEM, DER/);
    expectInvalidKey(() => sigKeyFromPublicKey(new Uint8Array(0)), /neither PEM, DER/);
  });

  it('refuses an encrypted private key and says how to decrypt it', () => {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString();
    expectInvalidKey(() => sigKeyFromPublicKey(pem), /encrypted[\s\S]*openssl ec/);
    expectInvalidKey(() => loadPrivateKey(pem), /encrypted/);
  });
});

describe('publicKeyFromSigKey', () => {
  it('rebuilds the same SPKI public key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const rebuilt = publicKeyFromSigKey(der.subarray(der.length - 64));
    expect(rebuilt.type).toBe('public');
    expect(rebuilt.export({ type: 'spki', format: 'der' }).equals(der)).toBe(true);
  });

  it('refuses a wrong length and an off-curve point', () => {
    expectInvalidKey(() => publicKeyFromSigKey(Buffer.alloc(32)), /exactly 64 bytes/);
    expectInvalidKey(() => publicKeyFromSigKey(Buffer.alloc(64, 0xff)), /not a point/);
  });
});

describe('loadPrivateKey', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const want = privateKey.export({ type: 'pkcs8', format: 'der' });
  const forms: [string, string | Uint8Array][] = [
    ['SEC1 PEM', privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
    ['SEC1 DER', privateKey.export({ type: 'sec1', format: 'der' })],
    ['PKCS#8 PEM', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['PKCS#8 DER', privateKey.export({ type: 'pkcs8', format: 'der' })],
    ['SEC1 PEM as bytes', Buffer.from(privateKey.export({ type: 'sec1', format: 'pem' }).toString())],
  ];
  for (const [name, input] of forms) {
    it(`reads ${name}`, () => {
      const k = loadPrivateKey(input);
      expect(k.type).toBe('private');
      expect(k.export({ type: 'pkcs8', format: 'der' }).equals(want)).toBe(true);
    });
  }

  it('refuses a public key, another curve, RSA and garbage', () => {
    expectInvalidKey(() => loadPrivateKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()), /public key cannot sign/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    expectInvalidKey(() => loadPrivateKey(p384.export({ type: 'sec1', format: 'pem' }).toString()), /secp384r1/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expectInvalidKey(() => loadPrivateKey(rsa.export({ type: 'pkcs1', format: 'der' })), /RSA, not EC/);
    expectInvalidKey(() => loadPrivateKey('not a key'), /neither PEM nor DER/);
    expectInvalidKey(() => loadPrivateKey(Buffer.from('garbage')), /neither PEM nor a DER/);
  });
});
