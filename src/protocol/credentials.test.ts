import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CupsError } from '../core/errors.js';
import { crc32 } from './crc32.js';
import {
  authModeOf,
  credentialCrc,
  derElementLength,
  normaliseStationKey,
  parseCredentialBlob,
  serialiseCredentialParts,
  stationCredentialCrc,
  stationDerLength,
  stationFilesOf,
  toDer,
  validateToken,
} from './credentials.js';

/** A DER SEQUENCE of `n` content bytes in the shortest length form. */
function seq(n: number, fill = 0x01): Buffer {
  const header = n < 128 ? [0x30, n] : n < 256 ? [0x30, 0x81, n] : [0x30, 0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(header), Buffer.alloc(n, fill)]);
}

/** A SEQUENCE forced into the two-byte long form the station understands. */
function seq82(n: number, fill = 0x02): Buffer {
  return Buffer.concat([Buffer.from([0x30, 0x82, n >> 8, n & 0xff]), Buffer.alloc(n, fill)]);
}

const ZERO4 = Buffer.alloc(4);

function errorOf(fn: () => unknown): CupsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CupsError);
    return e as CupsError;
  }
  throw new Error('expected a CupsError');
}

describe('[4.1] stationDerLength', () => {
  it.each<[string, number[], number, number | undefined]>([
    ['short form', [0x30, 0x05, 1, 2, 3, 4, 5], 0, 7],
    ['short form 127', [0x30, 0x7f], 0, 129],
    ['two-byte long form', [0x30, 0x82, 0x01, 0x00], 0, 260],
    ['two-byte long form at an offset', [0, 0, 0x30, 0x82, 0x02, 0x5b], 2, 0x25b + 4],
    ['30 81 LL is not understood', [0x30, 0x81, 0x87], 0, undefined],
    ['30 83 ... is not understood', [0x30, 0x83, 0, 1, 0], 0, undefined],
    ['30 80 (indefinite) is not understood', [0x30, 0x80], 0, undefined],
    ['not a SEQUENCE', [0x31, 0x05], 0, undefined],
    ['00 placeholder', [0, 0, 0, 0], 0, undefined],
    ['header cut short', [0x30], 0, undefined],
    ['long header cut short', [0x30, 0x82, 0x01], 0, undefined],
    ['offset past the end', [0x30, 0x01, 0], 5, undefined],
    ['negative offset', [0x30, 0x01, 0], -1, undefined],
  ])('%s', (_name, bytes, offset, expected) => {
    expect(stationDerLength(Uint8Array.from(bytes), offset)).toBe(expected);
  });

  it('derElementLength reads every definite form, including 30 81 and 30 83', () => {
    expect(derElementLength(seq(200))).toBe(203);
    expect(derElementLength(Buffer.from([0x30, 0x83, 0x01, 0x00, 0x00]))).toBe(5 + 65536);
    expect(derElementLength(Buffer.from([0x30, 0x80]))).toBeUndefined();
  });
});

describe('toDer', () => {
  const der = seq(40);
  const pem = (label: string, body: Buffer): string => `-----BEGIN ${label}-----\n${body.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;

  it('passes DER through and decodes PEM of any label', () => {
    expect(toDer(der, 'certificate').equals(der)).toBe(true);
    expect(toDer(Buffer.from(pem('CERTIFICATE', der)), 'certificate').equals(der)).toBe(true);
    expect(toDer(Buffer.from(`leading text\n${pem('WHATEVER', der)}`), 'private key').equals(der)).toBe(true);
  });

  it('picks the key block after an EC PARAMETERS block', () => {
    const text = pem('EC PARAMETERS', Buffer.from('06082a8648ce3d030107', 'hex')) + pem('EC PRIVATE KEY', der);
    expect(toDer(Buffer.from(text), 'private key').equals(der)).toBe(true);
  });

  it.each<[string, string | Buffer, RegExp]>([
    ['two certificates', pem('CERTIFICATE', der) + pem('CERTIFICATE', der), /holds 2 certificate blocks/],
    ['an encrypted key', pem('ENCRYPTED PRIVATE KEY', der), /encrypted/],
    ['a legacy encrypted key', `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n${der.toString('base64')}\n-----END RSA PRIVATE KEY-----\n`, /encrypted/],
    ['bad base64', '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n', /base64/],
    ['garbage', Buffer.from('hello world'), /neither PEM nor a single DER SEQUENCE/],
    ['DER with trailing bytes', Buffer.concat([der, Buffer.from([0])]), /neither PEM nor/],
    ['truncated DER', der.subarray(0, 20), /neither PEM nor/],
  ])('refuses %s', (_name, input, text) => {
    const err = errorOf(() => toDer(typeof input === 'string' ? Buffer.from(input) : input, 'certificate'));
    expect(err.code).toBe('unparseable_credential');
    expect(err.message).toMatch(text);
  });
});

describe('[4.3] validateToken', () => {
  it.each<[string, string]>([
    ['Authorization: Bearer s3cr3t', 'Authorization: Bearer s3cr3t\r\n'],
    ['Authorization: Bearer s3cr3t\n', 'Authorization: Bearer s3cr3t\r\n'],
    ['Authorization: Bearer s3cr3t\r\n', 'Authorization: Bearer s3cr3t\r\n'],
    ['A: 1\nB_2-x:2\r\nC:\t3\r', 'A: 1\r\nB_2-x:2\r\nC:\t3\r\n'],
    ['Authorization: Bearer cupstok456\n\n\n', 'Authorization: Bearer cupstok456\r\n'],
  ])('normalises %j', (input, output) => {
    expect(validateToken(input)).toBe(output);
  });

  it.each<[string, RegExp]>([
    ['', /empty/],
    ['\n', /empty/],
    ['\nA: 1', /line 1/],
    ['Bearer s3cr3t', /line 1/],
    ['Authorization Bearer', /line 1/],
    ['Author ization: x', /line 1/],
    ['Authorization : x', /line 1/],
    ['Authorization:', /line 1/],
    ['Authorization:   ', /line 1/],
    ['A: 1\n\nB: 2', /line 2/],
    ['A: 1\n continued', /line 2/],
    ['Auth\u00e9: x', /line 1/],
    ['A: caf\u00e9', /line 1/],
    ['A: bell\u0007', /line 1/],
    ['0auth: x', /must not start with "0"/],
    ['\0A: x', /must not start/],
    ['Host: evil', /"Host" header/],
    ['A: 1\ncontent-length: 5', /line 2 sets the "content-length"/],
  ])('refuses %j', (input, text) => {
    const err = errorOf(() => validateToken(input));
    expect(err.code).toBe('invalid_token');
    expect(err.kind).toBe('invalid_argument');
    expect(err.message).toMatch(text);
  });
});

describe('[4.1] parseCredentialBlob (station splitting rules)', () => {
  const trust = seq(100, 0x11);
  const cert = seq82(300, 0x22);
  const key = seq(0x77, 0x33);
  const token = 'Authorization: Bearer cupstok456\r\n';

  it('splits trust || cert || key', () => {
    const parts = parseCredentialBlob(Buffer.concat([trust, cert, key]));
    expect(parts).toEqual({ trust, cert, key, token: null });
    expect(authModeOf(parts)).toBe('mtls');
  });

  it('reads 00000000 as "no cert" and "no key"', () => {
    const parts = parseCredentialBlob(Buffer.concat([trust, ZERO4, ZERO4]));
    expect(parts).toEqual({ trust, cert: null, key: null, token: null });
    expect(authModeOf(parts)).toBe('tls');
  });

  it('reads a key segment starting with neither 30 nor 00 as a token running to the end', () => {
    const parts = parseCredentialBlob(Buffer.concat([trust, ZERO4, Buffer.from(token)]));
    expect(parts).toEqual({ trust, cert: null, key: null, token });
    expect(authModeOf(parts)).toBe('token');
  });

  it('accepts trust + a single 00000000 (the NUL after the buffer ends the key) — the non-normalised form', () => {
    expect(parseCredentialBlob(Buffer.concat([trust, ZERO4]))).toEqual({ trust, cert: null, key: null, token: null });
  });

  it('only looks at the first byte of the cert placeholder, like the station', () => {
    expect(parseCredentialBlob(Buffer.concat([trust, Buffer.from([0, 9, 9, 9]), ZERO4])).cert).toBeNull();
  });

  it('ignores bytes after a DER key', () => {
    expect(parseCredentialBlob(Buffer.concat([trust, cert, key, Buffer.from('junk')])).key).toEqual(key);
  });

  it.each<[string, Buffer, RegExp]>([
    ['an empty blob', Buffer.alloc(0), /SEQUENCE expected for trust/],
    ['a blob not starting with 30', Buffer.concat([Buffer.from([0x31]), trust.subarray(1), ZERO4, ZERO4]), /SEQUENCE expected for trust/],
    ['trust alone (no placeholders)', trust, /expecting more data/],
    ['a trust longer than the blob', Buffer.concat([seq82(1000)]).subarray(0, 500), /Lengths do not align/],
    ['a cert that is neither 30 nor 00', Buffer.concat([trust, Buffer.from([0x31, 0x00]), ZERO4]), /SEQUENCE expected for cert/],
    ['a cert running past the end', Buffer.concat([trust, cert.subarray(0, 200)]), /Lengths do not align/],
    ['a key running past the end', Buffer.concat([trust, cert, key.subarray(0, 50)]), /Lengths do not align/],
    ['a header cut short', Buffer.concat([trust, Buffer.from([0x30, 0x82, 0x01])]), /cut short/],
  ])('refuses %s', (_name, blob, text) => {
    const err = errorOf(() => parseCredentialBlob(blob));
    expect(err.code).toBe('invalid_credential_blob');
    expect(err.message).toMatch(text);
  });

  it('misreads 30 81 LL as the station does, so a PKCS#8-style element breaks the blob', () => {
    // 30 81 87: the station reads 0x87XX as the length.
    const pkcs8Like = Buffer.concat([Buffer.from([0x30, 0x81, 0x87]), Buffer.alloc(0x87, 0x02)]);
    const err = errorOf(() => parseCredentialBlob(Buffer.concat([trust, cert, pkcs8Like])));
    expect(err.message).toMatch(/Lengths do not align/);
  });

  it('serialiseCredentialParts gives back the normalised blob', () => {
    for (const blob of [Buffer.concat([trust, cert, key]), Buffer.concat([trust, ZERO4, ZERO4]), Buffer.concat([trust, ZERO4, Buffer.from(token)])]) {
      expect(serialiseCredentialParts(parseCredentialBlob(blob)).equals(blob)).toBe(true);
    }
  });
});

describe('[4.1] authModeOf', () => {
  const trust = seq(10);
  it.each<[string, Parameters<typeof authModeOf>[0], string]>([
    ['no credential', null, 'none'],
    ['trust only', { trust, cert: null, key: null, token: null }, 'tls'],
    ['trust + cert + key', { trust, cert: seq(5), key: seq(5), token: null }, 'mtls'],
    ['trust + token', { trust, cert: null, key: null, token: 'A: b\r\n' }, 'token'],
    ['trust + cert without key (station falls back to server TLS)', { trust, cert: seq(5), key: null, token: null }, 'tls'],
    ['trust + key without cert (station reads the key file as a token)', { trust, cert: null, key: seq(5), token: null }, 'token'],
  ])('%s -> %s', (_name, parts, mode) => {
    expect(authModeOf(parts)).toBe(mode);
  });
});

describe('[4.2] credential CRCs', () => {
  const trust = seq(100, 0x11);
  const cert = seq82(300, 0x22);
  const key = seq(0x77, 0x33);

  it('with no credential files at all the station reports 2077607535', () => {
    expect(stationCredentialCrc({ trust: null, cert: null, key: null })).toBe(2077607535);
    expect(stationCredentialCrc({ trust: new Uint8Array(0), cert: new Uint8Array(0), key: new Uint8Array(0) })).toBe(2077607535);
  });

  it('chains over trust, cert, key with 00000000 for missing files', () => {
    expect(stationCredentialCrc({ trust, cert: null, key })).toBe(crc32(Buffer.concat([trust, ZERO4, key])));
    expect(stationCredentialCrc({ trust, cert, key })).toBe(crc32(Buffer.concat([trust, cert, key])));
  });

  it.each([
    ['mtls', Buffer.concat([trust, cert, key])],
    ['tls', Buffer.concat([trust, ZERO4, ZERO4])],
    ['token', Buffer.concat([trust, ZERO4, Buffer.from('Authorization: Bearer x\r\n')])],
  ])('a normalised %s blob: the CRC the station reports after applying it equals credentialCrc(blob)', (_mode, blob) => {
    const reported = stationCredentialCrc(stationFilesOf(parseCredentialBlob(blob)));
    expect(reported).toBe(credentialCrc(blob));
    expect(credentialCrc(blob)).toBe(crc32(blob));
  });

  it('a non-normalised blob (trust + single 00000000) never matches: a naive server would re-send it forever', () => {
    const sloppy = Buffer.concat([trust, ZERO4]);
    const normalised = Buffer.concat([trust, ZERO4, ZERO4]);
    const reported = stationCredentialCrc(stationFilesOf(parseCredentialBlob(sloppy)));
    expect(reported).not.toBe(credentialCrc(sloppy));
    expect(reported).toBe(credentialCrc(normalised));
  });

  it('trailing bytes make a blob non-normalised too', () => {
    const blob = Buffer.concat([trust, cert, key, Buffer.from([1, 2])]);
    expect(stationCredentialCrc(stationFilesOf(parseCredentialBlob(blob)))).not.toBe(credentialCrc(blob));
  });
});

describe('[4.1] normaliseStationKey (node:crypto keys)', () => {
  it('turns a PKCS#8 P-256 key (30 81 87) into SEC1 DER starting 30 77', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(pkcs8.subarray(0, 3).toString('hex')).toBe('308187');
    expect(stationDerLength(pkcs8, 0)).toBeUndefined();
    const sec1 = normaliseStationKey(pkcs8);
    expect(sec1.subarray(0, 2).toString('hex')).toBe('3077');
    expect(sec1).toHaveLength(0x79);
    expect(sec1.equals(privateKey.export({ format: 'der', type: 'sec1' }))).toBe(true);
    expect(normaliseStationKey(Buffer.from(privateKey.export({ format: 'pem', type: 'pkcs8' }))).equals(sec1)).toBe(true);
    expect(normaliseStationKey(Buffer.from(privateKey.export({ format: 'pem', type: 'sec1' }))).equals(sec1)).toBe(true);
    expect(normaliseStationKey(sec1).equals(sec1)).toBe(true);
  });

  it('turns an RSA PKCS#8 key into PKCS#1 DER (30 82 ...)', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const out = normaliseStationKey(privateKey.export({ format: 'der', type: 'pkcs8' }));
    expect(out.equals(privateKey.export({ format: 'der', type: 'pkcs1' }))).toBe(true);
    expect(stationDerLength(out, 0)).toBe(out.length);
  });

  it('refuses key types and curves the station cannot take', () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
    expect(errorOf(() => normaliseStationKey(ed)).message).toMatch(/ed25519.*EC \(P-256\) and RSA/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const err = errorOf(() => normaliseStationKey(p384));
    expect(err.code).toBe('unparseable_credential');
    expect(err.message).toMatch(/secp384r1.*cannot parse.*P-256/);
  });

  it('refuses something that is not a key', () => {
    expect(errorOf(() => normaliseStationKey(seq(20))).message).toMatch(/not an unencrypted PKCS#8, SEC1/);
  });
});
