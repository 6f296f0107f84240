import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import {
  generateSigningKey,
  keyCrc,
  loadPrivateKey,
  signBuffer,
  signStream,
  sigKeyFromPublicKey,
  verifyStream,
  verifyWithStationKeys,
} from '../src/signing/index.js';

const OPENSSL = '/usr/bin/openssl';
let dir: string;

/** Runs openssl in the work folder and returns stdout as bytes (throws on a non-zero exit). */
function openssl(...args: string[]): Buffer {
  return execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a shell pipeline in the work folder exactly as an operator would type it. */
function shell(script: string): string {
  return execFileSync('bash', ['-o', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** PROTOCOL.md section 6: the CRC of sig-0.key read back through gzip's trailer. */
function gzipCrc(file: string): number {
  return Number(shell(`cat ${file} | gzip -1 | tail -c 8 | od -t u4 -N 4 -An --endian=little`).trim());
}

/** The `openssl ec -pubin -outform DER | tail -c 64` step, with the tail done on the DER bytes. */
function opensslSigKey(pubPem: string): Buffer {
  const der = openssl('ec', '-in', pubPem, '-inform', 'PEM', '-outform', 'DER', '-pubin');
  return der.subarray(der.length - 64);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'signing-openssl-'));
  shell(`${OPENSSL} ecparam -name prime256v1 -genkey | ${OPENSSL} ec -out sig-0.pem`);
  openssl('ec', '-in', 'sig-0.pem', '-pubout', '-out', 'sig-0.pub');
  await writeFile(join(dir, 'sig-0.key'), opensslSigKey('sig-0.pub'));
  // A few MB, written once, read back from disk by every streaming test.
  await writeFile(join(dir, 'update.bin'), randomBytes(4 * 1024 * 1024 + 123));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('keys made by openssl (PROTOCOL.md 6)', () => {
  it('give the same sig-0.key bytes from the public PEM, the private PEM and the DER', async () => {
    const sigKey = await readFile(join(dir, 'sig-0.key'));
    expect(sigKey).toHaveLength(64);
    expect(sigKeyFromPublicKey(await readFile(join(dir, 'sig-0.pub'), 'utf8')).equals(sigKey)).toBe(true);
    expect(sigKeyFromPublicKey(await readFile(join(dir, 'sig-0.pem'), 'utf8')).equals(sigKey)).toBe(true);
    expect(sigKeyFromPublicKey(openssl('ec', '-in', 'sig-0.pub', '-pubin', '-outform', 'DER')).equals(sigKey)).toBe(true);
    expect(sigKeyFromPublicKey(openssl('ec', '-in', 'sig-0.pem', '-outform', 'DER')).equals(sigKey)).toBe(true);
  });

  it('give the CRC of the gzip pipeline', async () => {
    const sigKey = sigKeyFromPublicKey(await readFile(join(dir, 'sig-0.pub'), 'utf8'));
    const crc = gzipCrc('sig-0.key');
    expect(crc).toBeGreaterThan(0);
    expect(keyCrc(sigKey)).toBe(crc);
  });

  it('load as private keys, also straight from "ecparam -genkey" with its EC PARAMETERS block', async () => {
    shell(`${OPENSSL} ecparam -name prime256v1 -genkey -out raw-genkey.pem`);
    shell(`${OPENSSL} genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out pkcs8.pem`);
    for (const f of ['sig-0.pem', 'raw-genkey.pem', 'pkcs8.pem']) {
      const key = loadPrivateKey(await readFile(join(dir, f), 'utf8'));
      expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
  });

  it('stored with a compressed point still give the right sig-0.key', async () => {
    openssl('ec', '-in', 'sig-0.pem', '-pubout', '-conv_form', 'compressed', '-out', 'compressed.pub');
    const sigKey = await readFile(join(dir, 'sig-0.key'));
    expect(sigKeyFromPublicKey(await readFile(join(dir, 'compressed.pub'), 'utf8')).equals(sigKey)).toBe(true);
  });
});

describe('keys made by generateSigningKey', () => {
  it('are read by openssl, which derives the same sig-0.key and CRC', async () => {
    const key = generateSigningKey();
    await writeFile(join(dir, 'ours.pem'), key.privateKeyPem);
    openssl('ec', '-in', 'ours.pem', '-check', '-noout');
    openssl('ec', '-in', 'ours.pem', '-pubout', '-out', 'ours.pub');
    const fromOpenssl = opensslSigKey('ours.pub');
    expect(fromOpenssl.equals(key.sigKey)).toBe(true);
    await writeFile(join(dir, 'ours.key'), key.sigKey);
    expect(gzipCrc('ours.key')).toBe(key.crc);
  });
});

describe('signatures against openssl dgst -sha512', () => {
  const verifyWithOpenssl = (file: string, sig: string) =>
    spawnSync(OPENSSL, ['dgst', '-sha512', '-verify', 'sig-0.pub', '-signature', sig, file], { cwd: dir, encoding: 'utf8' });

  it('signStream over a file on disk is accepted by openssl; a one-byte change is refused', async () => {
    const pem = await readFile(join(dir, 'sig-0.pem'), 'utf8');
    const sig = await signStream(createReadStream(join(dir, 'update.bin')), pem);
    await writeFile(join(dir, 'update.bin.sig'), sig);
    const ok = verifyWithOpenssl('update.bin', 'update.bin.sig');
    expect(ok.stdout.trim()).toBe('Verified OK');
    expect(ok.status).toBe(0);

    const changed = await readFile(join(dir, 'update.bin'));
    changed[changed.length >> 1] = changed[changed.length >> 1]! ^ 0x04;
    await writeFile(join(dir, 'changed.bin'), changed);
    const bad = verifyWithOpenssl('changed.bin', 'update.bin.sig');
    expect(bad.status).toBe(1);
    expect(bad.stdout.trim()).toBe('Verification failure');
  });

  it('an openssl signature verifies with verifyStream and the station rule; a one-byte change is refused', async () => {
    const sig = openssl('dgst', '-sha512', '-sign', 'sig-0.pem', 'update.bin');
    const sigKey = await readFile(join(dir, 'sig-0.key'));
    expect(await verifyStream(createReadStream(join(dir, 'update.bin')), sig, sigKey)).toBe(true);
    const decoy = generateSigningKey().sigKey;
    expect(await verifyWithStationKeys(createReadStream(join(dir, 'update.bin')), sig, [decoy, sigKey])).toEqual({
      outcome: 'verified',
      keyIndex: 1,
    });

    const changed = await readFile(join(dir, 'update.bin'));
    changed[0] = changed[0]! ^ 0x01;
    await writeFile(join(dir, 'changed-first.bin'), changed);
    expect(await verifyStream(createReadStream(join(dir, 'changed-first.bin')), sig, sigKey)).toBe(false);
    expect(await verifyWithStationKeys(createReadStream(join(dir, 'changed-first.bin')), sig, [sigKey])).toEqual({
      outcome: 'bad-signature',
    });
  });
});

describe('keys the station cannot use, made by openssl', () => {
  const cases: [string, string, RegExp][] = [
    ['P-384', `${OPENSSL} ecparam -name secp384r1 -genkey -noout -out bad.pem`, /secp384r1[\s\S]*P-256/],
    ['secp256k1 (also 256 bits)', `${OPENSSL} ecparam -name secp256k1 -genkey -noout -out bad.pem`, /secp256k1/],
    ['RSA', `${OPENSSL} genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out bad.pem`, /RSA, not EC/],
  ];
  for (const [name, make, message] of cases) {
    it(`refuses ${name} as private key, public key and for signing`, async () => {
      shell(make);
      shell(`${OPENSSL} pkey -in bad.pem -pubout -out bad.pub`);
      const priv = await readFile(join(dir, 'bad.pem'), 'utf8');
      const pub = await readFile(join(dir, 'bad.pub'), 'utf8');
      for (const attempt of [() => sigKeyFromPublicKey(pub), () => sigKeyFromPublicKey(priv), () => loadPrivateKey(priv), () => signBuffer(Buffer.from('x'), priv)]) {
        const err = (() => {
          try {
            attempt();
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(err).toBeInstanceOf(CupsError);
        expect((err as CupsError).code).toBe('invalid_signing_key');
        expect((err as CupsError).kind).toBe('invalid_argument');
        expect((err as CupsError).message).toMatch(message);
      }
    });
  }

  it('refuses random bytes the size of a DER public key and a broken PEM', () => {
    expect(() => sigKeyFromPublicKey(randomBytes(91))).toThrow(/neither PEM, DER/);
    expect(() => loadPrivateKey('-----BEGIN EC PRIVATE KEY-----\nnope\n-----END EC PRIVATE KEY-----\n')).toThrow(/cannot be parsed/);
  });
});
