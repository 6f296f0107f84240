import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertStationDer,
  createCa,
  issueServerCert,
  issueStationCert,
  stationCredentialFiles,
  trustOnlyFiles,
  type IssuedCert,
} from '../src/pki/index.js';

const run = promisify(execFile);

/**
 * The station's element splitter, written here independently of src/pki:
 * `30 LL` (LL < 128) or `30 82 HH LL`; anything else is unparseable. Returns
 * the total element length the station would compute, or null.
 */
function stationElementLength(bytes: Uint8Array): number | null {
  if (bytes[0] !== 0x30) return null;
  const b1 = bytes[1];
  if (b1 === undefined) return null;
  if (b1 < 0x80) return 2 + b1;
  if (b1 === 0x82 && bytes.length >= 4) return 4 + (bytes[2]! << 8) + bytes[3]!;
  return null;
}

let dir: string;
let ca: IssuedCert;
let station: IssuedCert;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pki-files-'));
  ca = await createCa({});
  station = await issueStationCert(ca, { eui: '16:c001:ff10:a235' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stationCredentialFiles', () => {
  it('gives trust, crt and key that the station DER splitter reads exactly', async () => {
    const files = stationCredentialFiles(ca, station);
    expect(files.trust.equals(ca.certDer)).toBe(true);
    expect(files.crt.equals(station.certDer)).toBe(true);
    expect(files.key.equals(station.keySec1Der)).toBe(true);
    for (const [name, bytes] of Object.entries(files)) {
      expect(stationElementLength(bytes), name).toBe(bytes.length);
    }
    expect(files.key.subarray(0, 2).toString('hex')).toBe('3077');
    expect(files.trust.subarray(0, 2).toString('hex')).toBe('3082');
    expect(files.crt.subarray(0, 2).toString('hex')).toBe('3082');
    // The blob the station receives splits into exactly these three elements.
    const blob = Buffer.concat([files.trust, files.crt, files.key]);
    const sizes: number[] = [];
    for (let at = 0; at < blob.length; ) {
      const len = stationElementLength(blob.subarray(at));
      expect(len).not.toBeNull();
      sizes.push(len!);
      at += len!;
    }
    expect(sizes).toEqual([files.trust.length, files.crt.length, files.key.length]);
  });

  it('writes files openssl reads as a certificate chain and a SEC1 P-256 key', async () => {
    const files = stationCredentialFiles(ca, station);
    const paths = { trust: join(dir, 'cups.trust'), crt: join(dir, 'cups.crt'), key: join(dir, 'cups.key') };
    await Promise.all([
      writeFile(paths.trust, files.trust),
      writeFile(paths.crt, files.crt),
      writeFile(paths.key, files.key),
    ]);
    const key = await run('/usr/bin/openssl', ['ec', '-inform', 'DER', '-in', paths.key, '-noout', '-text']);
    expect(key.stdout).toContain('prime256v1');
    const crtPem = (await run('/usr/bin/openssl', ['x509', '-inform', 'DER', '-in', paths.crt])).stdout;
    const trustPem = (await run('/usr/bin/openssl', ['x509', '-inform', 'DER', '-in', paths.trust])).stdout;
    await writeFile(join(dir, 'crt.pem'), crtPem);
    await writeFile(join(dir, 'trust.pem'), trustPem);
    const verify = await run('/usr/bin/openssl', ['verify', '-CAfile', join(dir, 'trust.pem'), join(dir, 'crt.pem')]);
    expect(verify.stdout).toContain(': OK');
  });

  it('refuses a PKCS#8 key, which the station would misparse', () => {
    const pkcs8 = createPrivateKey(station.keyPem).export({ type: 'pkcs8', format: 'der' });
    expect(pkcs8.subarray(0, 3).toString('hex')).toBe('308187');
    expect(stationElementLength(pkcs8)).toBeNull();
    expect(() => stationCredentialFiles(ca, { ...station, keySec1Der: pkcs8 })).toThrow(
      expect.objectContaining({ code: 'unparseable_credential', kind: 'invalid_argument' }),
    );
  });

  it('refuses a station certificate from another CA and a key that is not the certificate\'s', async () => {
    const other = await createCa({});
    expect(() => stationCredentialFiles(other, station)).toThrow(expect.objectContaining({ code: 'credential_mismatch' }));
    const second = await issueStationCert(ca, { eui: '::2' });
    expect(() => stationCredentialFiles(ca, { ...station, keySec1Der: second.keySec1Der })).toThrow(
      expect.objectContaining({ code: 'key_mismatch' }),
    );
  });
});

describe('trustOnlyFiles', () => {
  it('gives only the CA certificate, in a form the station reads', () => {
    const files = trustOnlyFiles(ca);
    expect(Object.keys(files)).toEqual(['trust']);
    expect(files.trust.equals(ca.certDer)).toBe(true);
    expect(stationElementLength(files.trust)).toBe(files.trust.length);
  });
});

describe('assertStationDer', () => {
  const cases: Array<[string, string, boolean]> = [
    ['short form', '3003020101', true],
    ['two-byte long form', '308200030201' + '01', true],
    ['0x81 form', '308103020101', false],
    ['0x83 form', '30830000030201' + '01', false],
    ['not a SEQUENCE', '0403010203', false],
    ['length shorter than data', '300302010100', false],
    ['length longer than data', '30050201', false],
    ['empty', '', false],
  ];
  for (const [name, hex, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () => {
      const bytes = Buffer.from(hex, 'hex');
      // The independent splitter must agree with the library on every case.
      expect(stationElementLength(bytes) === bytes.length).toBe(ok);
      if (ok) expect(() => assertStationDer(bytes, 'x')).not.toThrow();
      else expect(() => assertStationDer(bytes, 'x')).toThrow(expect.objectContaining({ code: 'unparseable_credential' }));
    });
  }

  it('holds for server certificates with many names', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `gw-${i}.cups.example.net`);
    const srv = await issueServerCert(ca, { names });
    expect(stationElementLength(srv.certDer)).toBe(srv.certDer.length);
    expect(() => assertStationDer(srv.certDer, 'server')).not.toThrow();
  });
});
