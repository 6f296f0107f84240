// Credential blobs built from real certificates and keys made by /usr/bin/openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import {
  authModeOf,
  buildCredentialBlob,
  credentialCrc,
  decodeResponse,
  encodeResponse,
  normaliseStationKey,
  parseCredentialBlob,
  stationCredentialCrc,
  stationDerLength,
  stationFilesOf,
  toDer,
} from '../src/protocol/index.js';

let dir: string;
const file = (name: string): Buffer => readFileSync(join(dir, name));
const openssl = (...args: string[]): void => {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'protocol-credentials-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
  openssl('x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der');
  // PKCS#8 client key (what `openssl genpkey` and `req -newkey` write), then the SEC1 form the station needs.
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'client-pkcs8.pem');
  openssl('pkcs8', '-topk8', '-nocrypt', '-in', 'client-pkcs8.pem', '-outform', 'DER', '-out', 'client-pkcs8.der');
  openssl('ec', '-in', 'client-pkcs8.pem', '-outform', 'DER', '-out', 'client-sec1.der');
  openssl('req', '-new', '-key', 'client-pkcs8.pem', '-subj', '/CN=station-0016c001ff10a235', '-out', 'client.csr');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.pem');
  openssl('x509', '-in', 'client.pem', '-outform', 'DER', '-out', 'client.der');
  openssl('x509', '-in', 'client.pem', '-text', '-out', 'client-with-text.pem');
  // `ecparam -genkey` without -noout writes an EC PARAMETERS block before the key.
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-out', 'other-ec.pem');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'p384.pem');
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'rsa-pkcs8.pem');
  openssl('rsa', '-in', 'rsa-pkcs8.pem', '-traditional', '-outform', 'DER', '-out', 'rsa-pkcs1.der');
  openssl('req', '-new', '-key', 'rsa-pkcs8.pem', '-subj', '/CN=rsa-station', '-out', 'rsa.csr');
  openssl('x509', '-req', '-in', 'rsa.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'rsa.pem');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes256', '-pass', 'pass:secret', '-out', 'encrypted.pem');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): CupsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CupsError);
    return e as CupsError;
  }
  throw new Error('expected a CupsError');
}

const ZERO4 = Buffer.alloc(4);

describe('[4.1] keys the station can and cannot parse', () => {
  it('a PKCS#8 EC key (30 81 87) is refused as a raw element, with the openssl fix in the message', () => {
    const pkcs8 = file('client-pkcs8.der');
    expect(pkcs8.subarray(0, 3).toString('hex')).toBe('308187');
    for (const key of [pkcs8, file('client-pkcs8.pem')]) {
      const err = errorOf(() => buildCredentialBlob({ trust: file('ca.pem'), cert: file('client.pem'), key }));
      expect(err.code).toBe('unparseable_credential');
      expect(err.kind).toBe('invalid_argument');
      expect(err.details).toEqual({ field: 'key' });
      expect(err.message).toContain('key element');
      expect(err.message).toContain('openssl ec');
      expect(err.message).toContain('-outform DER');
    }
  });

  it('is accepted after normaliseStationKey, which gives the same bytes as `openssl ec -outform DER`', () => {
    const sec1 = normaliseStationKey(file('client-pkcs8.pem'));
    expect(sec1.subarray(0, 2).toString('hex')).toBe('3077');
    expect(sec1.equals(file('client-sec1.der'))).toBe(true);
    expect(normaliseStationKey(file('client-pkcs8.der')).equals(sec1)).toBe(true);
    const blob = buildCredentialBlob({ trust: file('ca.pem'), cert: file('client.pem'), key: sec1 });
    expect(blob.equals(Buffer.concat([file('ca.der'), file('client.der'), sec1]))).toBe(true);
    expect(authModeOf(parseCredentialBlob(blob))).toBe('mtls');
  });

  it('the station would silently ignore a blob carrying the raw PKCS#8 key', () => {
    const raw = Buffer.concat([file('ca.der'), file('client.der'), file('client-pkcs8.der')]);
    expect(errorOf(() => parseCredentialBlob(raw)).code).toBe('invalid_credential_blob');
  });

  it('an element in 30 81 LL form is refused even when it is valid DER', () => {
    const short = Buffer.concat([Buffer.from([0x30, 0x81, 0x05]), Buffer.alloc(5, 1)]);
    expect(stationDerLength(short, 0)).toBeUndefined();
    const err = errorOf(() => buildCredentialBlob({ trust: short }));
    expect(err.code).toBe('unparseable_credential');
    expect(err.details).toEqual({ field: 'trust' });
    expect(err.message).toMatch(/trust element \(8 bytes, starting 308105\).*cannot parse/);
  });

  it('an element in 30 83 form is refused', () => {
    const big = Buffer.concat([Buffer.from([0x30, 0x83, 0x00, 0x01, 0x00]), Buffer.alloc(256, 1)]);
    expect(errorOf(() => buildCredentialBlob({ trust: file('ca.der'), cert: big, key: file('client-sec1.der') })).details).toEqual({ field: 'cert' });
  });

  it('a P-384 key cannot be made station-parseable and says so', () => {
    expect(errorOf(() => normaliseStationKey(file('p384.pem'))).message).toMatch(/secp384r1/);
  });

  it('RSA: PKCS#8 becomes PKCS#1 (what `openssl rsa -traditional` writes) and builds an mTLS blob', () => {
    const pkcs1 = normaliseStationKey(file('rsa-pkcs8.pem'));
    expect(pkcs1.equals(file('rsa-pkcs1.der'))).toBe(true);
    const blob = buildCredentialBlob({ trust: file('ca.der'), cert: file('rsa.pem'), key: pkcs1 });
    expect(parseCredentialBlob(blob).key?.equals(pkcs1)).toBe(true);
  });

  it('reads a key PEM that has an EC PARAMETERS block first', () => {
    const key = normaliseStationKey(file('other-ec.pem'));
    expect(key.subarray(0, 2).toString('hex')).toBe('3077');
    expect(toDer(file('other-ec.pem'), 'private key').equals(key)).toBe(true);
  });

  it('refuses an encrypted key with a hint to decrypt it', () => {
    expect(errorOf(() => normaliseStationKey(file('encrypted.pem'))).message).toMatch(/encrypted.*openssl pkey/);
  });
});

describe('[4.1] buildCredentialBlob', () => {
  it('trust only -> trust || 00000000 || 00000000, from PEM or DER alike', () => {
    const expected = Buffer.concat([file('ca.der'), ZERO4, ZERO4]);
    expect(buildCredentialBlob({ trust: file('ca.pem') }).equals(expected)).toBe(true);
    expect(buildCredentialBlob({ trust: file('ca.der'), cert: null, key: null, token: null }).equals(expected)).toBe(true);
    expect(authModeOf(parseCredentialBlob(expected))).toBe('tls');
  });

  it('reads a certificate PEM that follows a long `openssl x509 -text` dump', () => {
    expect(file('client-with-text.pem').subarray(0, 12).toString()).toBe('Certificate:');
    expect(toDer(file('client-with-text.pem'), 'certificate').equals(file('client.der'))).toBe(true);
  });

  it('trust + token -> trust || 00000000 || token lines in CRLF', () => {
    const blob = buildCredentialBlob({ trust: file('ca.pem'), token: 'Authorization: Bearer cupstok456\n' });
    const expected = Buffer.concat([file('ca.der'), ZERO4, Buffer.from('Authorization: Bearer cupstok456\r\n')]);
    expect(blob.equals(expected)).toBe(true);
    const parts = parseCredentialBlob(blob);
    expect(parts.token).toBe('Authorization: Bearer cupstok456\r\n');
    expect(authModeOf(parts)).toBe('token');
  });

  it.each<[string, () => Parameters<typeof buildCredentialBlob>[0], string, string, RegExp]>([
    ['cert + token together', () => ({ trust: file('ca.pem'), cert: file('client.pem'), token: 'A: b' }), 'unparseable_credential', 'token', /cannot be combined/],
    ['key + token together', () => ({ trust: file('ca.pem'), key: file('client-sec1.der'), token: 'A: b' }), 'unparseable_credential', 'token', /cannot be combined/],
    ['key without cert', () => ({ trust: file('ca.pem'), key: file('client-sec1.der') }), 'unparseable_credential', 'key', /needs its certificate/],
    ['cert without key', () => ({ trust: file('ca.pem'), cert: file('client.pem') }), 'unparseable_credential', 'cert', /needs its private key/],
    ['a trust that is not X.509', () => ({ trust: file('client-sec1.der') }), 'unparseable_credential', 'trust', /not an X.509 certificate/],
    ['a cert that is not X.509', () => ({ trust: file('ca.pem'), cert: file('client-sec1.der'), key: file('client-sec1.der') }), 'unparseable_credential', 'cert', /not an X.509/],
    ['a key that is not the cert key', () => ({ trust: file('ca.pem'), cert: file('client.pem'), key: normaliseStationKey(file('other-ec.pem')) }), 'credential_key_mismatch', 'key', /not the private key/],
    ['a bad token', () => ({ trust: file('ca.pem'), token: 'Bearer only' }), 'invalid_token', 'token', /Name: value/],
    ['a missing trust', () => ({ trust: undefined as unknown as Uint8Array }), 'unparseable_credential', 'trust', /required/],
    ['a trust PEM holding two certificates', () => ({ trust: Buffer.concat([file('ca.pem'), file('client.pem')]) }), 'unparseable_credential', 'trust', /PEM trust holds 2 certificate blocks/],
  ])('refuses %s', (_name, parts, code, field, text) => {
    const err = errorOf(() => buildCredentialBlob(parts()));
    expect(err.code).toBe(code);
    expect(err.kind).toBe('invalid_argument');
    expect(err.details?.field).toBe(field);
    expect(err.message).toMatch(text);
  });
});

describe('[4.2] [2.2] a full credential update, as server and station see it', () => {
  it('the station reports crc32(normalised blob) after applying it, so the server stops sending it', () => {
    const blob = buildCredentialBlob({ trust: file('ca.pem'), cert: file('client.pem'), key: normaliseStationKey(file('client-pkcs8.pem')) });
    const before = stationCredentialCrc({ trust: null, cert: null, key: null });
    expect(before).toBe(2077607535);
    const desired = credentialCrc(blob);
    // Server: CRC differs, so it sends the credential.
    expect(desired).not.toBe(before);
    const received = decodeResponse(encodeResponse({ cupsCred: blob }));
    expect(received.cupsCred?.equals(blob)).toBe(true);
    // Station: split, write the three files, report their chained CRC next time.
    const files = stationFilesOf(parseCredentialBlob(received.cupsCred as Buffer));
    expect(files.trust && Buffer.from(files.trust).equals(file('ca.der'))).toBe(true);
    expect(files.cert && Buffer.from(files.cert).equals(file('client.der'))).toBe(true);
    expect(stationCredentialCrc(files)).toBe(desired);
  });

  it('trust + single 00000000 is accepted by the station but its CRC never matches the blob', () => {
    const sloppy = Buffer.concat([file('ca.der'), ZERO4]);
    const normalised = buildCredentialBlob({ trust: file('ca.pem') });
    const reported = stationCredentialCrc(stationFilesOf(parseCredentialBlob(sloppy)));
    expect(credentialCrc(sloppy)).not.toBe(credentialCrc(normalised));
    expect(reported).not.toBe(credentialCrc(sloppy));
    expect(reported).toBe(credentialCrc(normalised));
  });
});
