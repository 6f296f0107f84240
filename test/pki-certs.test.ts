import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import {
  certificateFingerprint,
  createCa,
  issueServerCert,
  issueStationCert,
  loadIssuedCert,
  type IssuedCert,
} from '../src/pki/index.js';

const run = promisify(execFile);
const OPENSSL = '/usr/bin/openssl';

let dir: string;
let ca: IssuedCert;
let otherCa: IssuedCert;
let server: IssuedCert;
let station: IssuedCert;

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Runs openssl; resolves with its exit code and output instead of throwing on failure. */
async function openssl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(OPENSSL, args);
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pki-certs-'));
  ca = await createCa({ commonName: 'test CA' });
  otherCa = await createCa({ commonName: 'test CA' });
  server = await issueServerCert(ca, { names: ['cups.example.net', '127.0.0.1', '::1'] });
  station = await issueStationCert(ca, { eui: '16:c001:ff10:a235' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createCa', () => {
  it('is a self-signed P-256 CA with keyCertSign and cRLSign, valid 10 years by default', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const made = await createCa({ commonName: 'Fleet CA', now });
    const x = new X509Certificate(made.certDer);
    expect(x.ca).toBe(true);
    expect(x.checkIssued(x)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.subject).toBe('CN=Fleet CA');
    expect(made.subject).toBe('CN=Fleet CA');
    expect(made.notAfter.getTime() - now.getTime()).toBe(3650 * 86_400_000);
    expect(made.notBefore.getTime()).toBeLessThanOrEqual(now.getTime());
    const text = (await openssl(['x509', '-noout', '-text', '-in', await file('fleet-ca.pem', made.certPem)])).out;
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('ecdsa-with-SHA256');
  });

  it('exposes PEM, DER, SEC1 key and a fingerprint that agree with openssl', async () => {
    expect(ca.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    expect(new X509Certificate(ca.certPem).raw.equals(ca.certDer)).toBe(true);
    expect(ca.keyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(ca.keySec1Der.subarray(0, 2).toString('hex')).toBe('3077');
    expect(createPrivateKey(ca.keyPem).export({ type: 'sec1', format: 'der' }).equals(ca.keySec1Der)).toBe(true);
    const res = await openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', await file('ca.pem', ca.certPem)]);
    const expected = /=([0-9A-F:]+)/.exec(res.out)?.[1]?.replace(/:/g, '').toLowerCase();
    expect(ca.fingerprint256).toBe(expected);
    expect(certificateFingerprint(ca.certDer)).toBe(expected);
    expect(certificateFingerprint(station.certDer)).not.toBe(expected);
  });

  it('rejects a bad common name or lifetime, naming the field', async () => {
    await expect(createCa({ commonName: '' })).rejects.toMatchObject({ code: 'invalid_common_name' });
    await expect(createCa({ commonName: 'x'.repeat(65) })).rejects.toThrow(/commonName/);
    await expect(createCa({ validDays: 0 })).rejects.toMatchObject({ code: 'invalid_validity' });
    await expect(createCa({ validDays: Number.NaN })).rejects.toThrow(/validDays/);
  });
});

describe('openssl verify', () => {
  it('accepts the server certificate for its names and the serverAuth purpose', async () => {
    const caFile = await file('ca.pem', ca.certPem);
    const srv = await file('server.pem', server.certPem);
    for (const check of [['-verify_hostname', 'cups.example.net'], ['-verify_ip', '127.0.0.1'], ['-verify_ip', '::1']]) {
      const res = await openssl(['verify', '-CAfile', caFile, '-purpose', 'sslserver', ...check, srv]);
      expect(res.out, check.join(' ')).toContain('server.pem: OK');
      expect(res.code).toBe(0);
    }
    const wrongName = await openssl(['verify', '-CAfile', caFile, '-verify_hostname', 'other.example.net', srv]);
    expect(wrongName.code).not.toBe(0);
    const asClient = await openssl(['verify', '-CAfile', caFile, '-purpose', 'sslclient', srv]);
    expect(asClient.code).not.toBe(0);
  });

  it('accepts the station certificate for the sslclient purpose and only under its own CA', async () => {
    const st = await file('station.pem', station.certPem);
    const ok = await openssl(['verify', '-CAfile', await file('ca.pem', ca.certPem), '-purpose', 'sslclient', st]);
    expect(ok.out).toContain('station.pem: OK');
    expect(ok.code).toBe(0);
    const asServer = await openssl(['verify', '-CAfile', await file('ca.pem', ca.certPem), '-purpose', 'sslserver', st]);
    expect(asServer.code).not.toBe(0);
    // Same CN, different key: chain building must fail on the signature.
    const wrong = await openssl(['verify', '-CAfile', await file('other-ca.pem', otherCa.certPem), st]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/signature failure|unable to get local issuer/);
  });

  it('reports an expired station certificate as expired', async () => {
    const day = 86_400_000;
    const expired = await issueStationCert(ca, {
      eui: '0016C001FF10A235',
      notBefore: new Date(Date.now() - 3 * day),
      notAfter: new Date(Date.now() - day),
    });
    expect(expired.notAfter.getTime()).toBeLessThan(Date.now());
    const res = await openssl(['verify', '-CAfile', await file('ca.pem', ca.certPem), await file('exp.pem', expired.certPem)]);
    expect(res.code).not.toBe(0);
    expect(res.out).toContain('certificate has expired');
  });
});

describe('issueServerCert', () => {
  it('puts every name in the SAN as a DNS name and IP literals also as IP addresses, the first name in the CN, serverAuth in the EKU', () => {
    const x = new X509Certificate(server.certDer);
    expect(x.subject).toBe('CN=cups.example.net');
    expect(x.subjectAltName).toBe('DNS:cups.example.net, DNS:127.0.0.1, IP Address:127.0.0.1, DNS:::1, IP Address:0:0:0:0:0:0:0:1');
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(x.ca).toBe(false);
    expect(x.checkIssued(new X509Certificate(ca.certDer))).toBe(true);
    expect(server.notAfter.getTime() - server.notBefore.getTime()).toBeGreaterThan(800 * 86_400_000);
  });

  it('writes a name repeated in another case once', async () => {
    const x = new X509Certificate((await issueServerCert(ca, { names: ['cups.example.net', '127.0.0.1', 'CUPS.example.net', '127.0.0.1'] })).certDer);
    expect(x.subjectAltName).toBe('DNS:cups.example.net, DNS:127.0.0.1, IP Address:127.0.0.1');
  });

  it('refuses an empty list and names that are neither DNS names nor IPs', async () => {
    await expect(issueServerCert(ca, { names: [] })).rejects.toMatchObject({ code: 'invalid_server_name' });
    await expect(issueServerCert(ca, { names: ['ok.example', 'bad name'] })).rejects.toThrow(/names\[1\]/);
    await expect(issueServerCert(ca, { names: ['http://x.example'] })).rejects.toBeInstanceOf(CupsError);
  });

  it('refuses to issue from a certificate that is not a CA', async () => {
    await expect(issueServerCert(server, { names: ['x.example'] })).rejects.toMatchObject({ code: 'not_a_ca' });
  });
});

describe('issueStationCert', () => {
  it('names the canonical EUI in the CN and in a urn:lora:eui URI SAN, with clientAuth', () => {
    const x = new X509Certificate(station.certDer);
    expect(x.subject).toBe('CN=0016C001FF10A235');
    expect(station.subject).toBe('CN=0016C001FF10A235');
    expect(x.subjectAltName).toBe('URI:urn:lora:eui:0016C001FF10A235');
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(x.issuer).toBe('CN=test CA');
  });

  it('honours validDays and now, and refuses a bad EUI or an inverted window', async () => {
    const now = new Date('2031-05-05T12:00:00Z');
    const c = await issueStationCert(ca, { eui: '00-00-00-00-00-00-00-01', validDays: 30, now });
    expect(c.notAfter.toISOString()).toBe('2031-06-04T12:00:00.000Z');
    expect(c.subject).toBe('CN=0000000000000001');
    await expect(issueStationCert(ca, { eui: 'not-an-eui' })).rejects.toMatchObject({ code: 'invalid_eui' });
    await expect(
      issueStationCert(ca, { eui: '::1', notBefore: now, notAfter: new Date(now.getTime() - 1) }),
    ).rejects.toMatchObject({ code: 'invalid_validity' });
  });
});

describe('loadIssuedCert', () => {
  it('round-trips a CA from PEM and issues certificates openssl accepts', async () => {
    const loaded = await loadIssuedCert(ca.certPem, ca.keyPem);
    expect(loaded.fingerprint256).toBe(ca.fingerprint256);
    expect(loaded.keySec1Der.equals(ca.keySec1Der)).toBe(true);
    expect(loaded.subject).toBe(ca.subject);
    expect(loaded.notAfter.getTime()).toBe(ca.notAfter.getTime());
    const issued = await issueStationCert(loaded, { eui: '1::2' });
    const res = await openssl(['verify', '-CAfile', await file('ca.pem', ca.certPem), await file('re.pem', issued.certPem)]);
    expect(res.code).toBe(0);
  });

  it('issues from a CA an operator made with openssl (PKCS#8 key file)', async () => {
    const keyFile = join(dir, 'op-ca.key');
    const certFile = join(dir, 'op-ca.pem');
    const made = await openssl([
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', '/CN=operator CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    expect(made.code).toBe(0);
    const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    expect(keyPem).toContain('BEGIN PRIVATE KEY');
    const opCa = await loadIssuedCert(certPem, keyPem);
    expect(opCa.subject).toBe('CN=operator CA');
    const st = await issueStationCert(opCa, { eui: '0016C001FF10A235' });
    const res = await openssl(['verify', '-CAfile', certFile, '-purpose', 'sslclient', await file('op-st.pem', st.certPem)]);
    expect(res.out).toContain('op-st.pem: OK');
  });

  it('accepts a PKCS#8 key and hands it back in SEC1 form', async () => {
    const pkcs8Pem = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(pkcs8Pem).toContain('BEGIN PRIVATE KEY');
    const loaded = await loadIssuedCert(ca.certPem, pkcs8Pem);
    expect(loaded.keyPem).toContain('BEGIN EC PRIVATE KEY');
    expect(loaded.keySec1Der.equals(ca.keySec1Der)).toBe(true);
  });

  it('refuses a key that is not the certificate\'s, a chain, garbage, and non-P-256 keys', async () => {
    await expect(loadIssuedCert(ca.certPem, otherCa.keyPem)).rejects.toMatchObject({ code: 'key_mismatch' });
    await expect(loadIssuedCert(ca.certPem + server.certPem, ca.keyPem)).rejects.toMatchObject({
      code: 'invalid_certificate',
    });
    await expect(loadIssuedCert('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ca.keyPem)).rejects.toMatchObject({
      code: 'invalid_certificate',
    });
    await expect(loadIssuedCert(ca.certPem, 'nope')).rejects.toMatchObject({ code: 'invalid_private_key' });
    const p384 = (await openssl(['ecparam', '-name', 'secp384r1', '-genkey', '-noout'])).out;
    await expect(loadIssuedCert(ca.certPem, p384)).rejects.toMatchObject({ code: 'unsupported_key_type' });
  });
});
