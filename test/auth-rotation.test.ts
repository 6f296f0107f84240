import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFingerprint } from '../src/pki/index.js';
import { crc32 } from '../src/protocol/index.js';
import { createSimulatedStation } from '../src/simulator/index.js';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';

const EUI = '0016C001FF10A235';
const TOKEN_EUI = '0016C001FF10A299';

let work: string;
let pki: string;
let srv: TestServer;
let caPem: string;

interface IssueResult {
  mode: string;
  pendingMode: string | null;
  credentials: Array<{ category: string; crc: number; fingerprint?: string; tokenId?: string; token?: string }>;
  files: string[];
}

/**
 * The station's own element rule, written out here rather than taken from the
 * code under test: a DER SEQUENCE `30 LL` (LL < 128) or `30 82 HH LL`, whose
 * length covers the element exactly (PROTOCOL.md 4.1).
 */
function expectStationParsable(element: Buffer, what: string): void {
  expect(element[0], `${what} tag`).toBe(0x30);
  const first = element[1] as number;
  let total: number;
  if (first < 0x80) total = 2 + first;
  else {
    expect(first, `${what} length form`).toBe(0x82);
    total = 4 + (((element[2] as number) << 8) | (element[3] as number));
  }
  expect(total, `${what} length`).toBe(element.length);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-rotation-'));
  pki = join(work, 'pki');
  const init = await bscupsJson<{ server: { names: string[] } }>(['pki', 'init', '--dir', pki, '--server-name', 'localhost', '--server-name', '127.0.0.1']);
  expect(init.server.names).toEqual(['localhost', '127.0.0.1']);
  caPem = await readFile(join(pki, 'ca.pem'), 'utf8');
  srv = await startTestServer({
    allowUnauthenticated: false,
    tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
  });
  await Promise.all([bscupsJson(['station', 'add', EUI], srv.env), bscupsJson(['station', 'add', TOKEN_EUI], srv.env)]);
});

afterAll(async () => {
  await srv.stop();
  await rm(work, { recursive: true, force: true });
});

describe('certificates issued by the CLI, rotated over CUPS with the simulator over mutual TLS', () => {
  const home = () => join(work, 'station');

  it('issue-cert writes station files that parse under the station\'s DER rules and open the server', async () => {
    const issued = await bscupsJson<IssueResult>(['station', 'issue-cert', EUI, '--pki-dir', pki, '--out', home()], srv.env);
    const [cred] = issued.credentials;
    // The mode changes once the station proves the certificate works, not before: it may need its current mode to fetch it.
    expect(issued).toMatchObject({ mode: 'none', pendingMode: 'mtls' });
    const trust = await readFile(join(home(), 'cups.trust'));
    const crt = await readFile(join(home(), 'cups.crt'));
    const key = await readFile(join(home(), 'cups.key'));
    expectStationParsable(trust, 'cups.trust');
    expectStationParsable(crt, 'cups.crt');
    expectStationParsable(key, 'cups.key');
    expect(key.subarray(0, 2)).toEqual(Buffer.from([0x30, 0x77]));
    expect(new X509Certificate(trust).toString()).toBe(caPem);
    expect(new X509Certificate(crt).subject).toBe(`CN=${EUI}`);
    expect(certificateFingerprint(crt)).toBe(cred?.fingerprint);
    // What the station will report for these files is the CRC the server stored.
    expect(crc32(Buffer.concat([trust, crt, key]))).toBe(cred?.crc);

    await writeFile(join(home(), 'cups.uri'), srv.url);
    const first = await createSimulatedStation({ home: home(), eui: EUI }).exchange();
    expect(first).toMatchObject({ status: 200, ok: true, nothingToChange: true });
    expect((await srv.runtime.registry.getStationAuth(EUI))?.mode).toBe('mtls');
  });

  it('rotates: new certificate delivered, then used, then the old one retired and refused', async () => {
    const station = createSimulatedStation({ home: home(), eui: EUI });
    const oldCert = await readFile(join(home(), 'cups.crt'));
    const oldKey = await readFile(join(home(), 'cups.key'));
    const oldFingerprint = certificateFingerprint(oldCert);

    const rotated = await bscupsJson<{ fingerprint: string; crc: number; kind: string }>(['station', 'rotate', EUI, '--pki-dir', pki], srv.env);
    expect(rotated.kind).toBe('certificate');
    expect(rotated.fingerprint).not.toBe(oldFingerprint);

    const delivered = await station.exchange();
    expect(delivered).toMatchObject({ status: 200, ok: true });
    expect(delivered.applied).toEqual(['cupsCred']);
    const newCert = await readFile(join(home(), 'cups.crt'));
    expect(certificateFingerprint(newCert)).toBe(rotated.fingerprint);
    expect((await readFile(join(home(), 'cups.key'))).subarray(0, 2)).toEqual(Buffer.from([0x30, 0x77]));
    // Until the station proves the new certificate works, the old one stays valid.
    let auth = await srv.runtime.registry.getStationAuth(EUI);
    expect(auth?.certificates.find((c) => c.fingerprint === oldFingerprint)?.status).toBe('active');

    const proven = await station.exchange();
    expect(proven).toMatchObject({ status: 200, ok: true, nothingToChange: true });
    expect(proven.request.cupsCredCrc).toBe(rotated.crc);
    auth = await srv.runtime.registry.getStationAuth(EUI);
    expect(auth?.rotations).toEqual([]);
    expect(auth?.certificates.map((c) => [c.fingerprint, c.status, c.retiredReason])).toEqual([
      [oldFingerprint, 'retired', 'rotated'],
      [rotated.fingerprint, 'active', null],
    ]);
    const events = await srv.runtime.registry.listEvents(EUI, { limit: 3 });
    expect(events.some((e) => e.type === 'auth' && e.message.includes('rotation complete'))).toBe(true);
    const shown = await bscupsJson<{ mode: string; certificates: Array<{ fingerprint: string; status: string; inUse: boolean }> }>(['station', 'auth', EUI], srv.env);
    expect(shown.mode).toBe('mtls');
    expect(shown.certificates.map((c) => [c.fingerprint, c.status, c.inUse])).toEqual([
      [oldFingerprint, 'retired', false],
      [rotated.fingerprint, 'active', true],
    ]);

    const stale = await tlsExchange({
      port: srv.port,
      ca: caPem,
      cert: new X509Certificate(oldCert).toString(),
      key: createPrivateKey({ key: oldKey, format: 'der', type: 'sec1' }).export({ format: 'pem', type: 'sec1' }).toString(),
      request: stationRequest(EUI),
    });
    expect(stale.status).toBe(401);
    expect(stale.body.toString()).toMatch(/^certificate_retired/);
  });

  it('revoke refuses the certificate the station reports using unless --force, and then it is refused at once', async () => {
    const auth = await srv.runtime.registry.getStationAuth(EUI);
    const current = auth?.certificates.find((c) => c.status === 'active')?.fingerprint as string;
    const refused = await runCli(['station', 'revoke', EUI, '--fingerprint', current], srv.env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('credential_in_use');
    expect(refused.stderr).toContain('--force');
    const station = createSimulatedStation({ home: home(), eui: EUI });
    expect((await station.exchange()).status).toBe(200);

    const colons = current.toUpperCase().match(/../g)?.join(':') as string;
    await bscupsJson(['station', 'revoke', EUI, '--fingerprint', colons, '--force'], srv.env);
    const locked = await station.exchange();
    expect(locked.status).toBe(401);
    expect(locked.error).toMatch(/^certificate_retired/);
  });
});

describe('pki init', () => {
  it('refuses to overwrite, and with --force keeps the CA and issues a new server certificate', async () => {
    const again = await bscupsInProcess(['pki', 'init', '--dir', pki]);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('pki_exists');
    const before = await readFile(join(pki, 'server.pem'), 'utf8');
    const forced = await bscupsJson<{ ca: { created: boolean } }>(['pki', 'init', '--dir', pki, '--force', '--server-name', '127.0.0.1']);
    expect(forced.ca.created).toBe(false);
    expect(await readFile(join(pki, 'ca.pem'), 'utf8')).toBe(caPem);
    const after = await readFile(join(pki, 'server.pem'), 'utf8');
    expect(after).not.toBe(before);
    expect(new X509Certificate(after).checkIssued(new X509Certificate(caPem))).toBe(true);
    expect((await stat(join(pki, 'server.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(pki, 'ca.key'))).mode & 0o777).toBe(0o600);
  });
});

describe('tokens issued by the CLI', () => {
  it('opens its station, rotates over CUPS and retires the old token once the new one is used', async () => {
    const home = join(work, 'token-station');
    const issued = await bscupsJson<IssueResult>(['station', 'issue-token', TOKEN_EUI, '--pki-dir', pki, '--out', home], srv.env);
    const [cred] = issued.credentials;
    expect(cred?.token).toMatch(/^Authorization: Bearer [A-Za-z0-9_-]{43}$/);
    expect(await readFile(join(home, 'cups.key'), 'latin1')).toBe(`${cred?.token}\r\n`);
    expect(await readFile(join(home, 'cups.crt'))).toHaveLength(0);
    await writeFile(join(home, 'cups.uri'), srv.url);
    const station = createSimulatedStation({ home, eui: TOKEN_EUI });
    expect(await station.exchange()).toMatchObject({ status: 200, nothingToChange: true });

    const rotated = await bscupsJson<{ kind: string; tokenId: string; token?: string }>(['station', 'rotate', TOKEN_EUI, '--pki-dir', pki], srv.env);
    expect(rotated.kind).toBe('token');
    expect(rotated.token).toBeUndefined();
    expect((await station.exchange()).applied).toEqual(['cupsCred']);
    expect(await station.exchange()).toMatchObject({ status: 200, nothingToChange: true });
    const auth = await srv.runtime.registry.getStationAuth(TOKEN_EUI);
    expect(auth?.tokens.map((t) => [t.id, t.status])).toEqual([
      [cred?.tokenId, 'retired'],
      [rotated.tokenId, 'active'],
    ]);

    const old = await tlsExchange({ port: srv.port, ca: caPem, headerLines: `${cred?.token}\r\n`, request: stationRequest(TOKEN_EUI) });
    expect(old.status).toBe(401);
    expect(old.body.toString()).toMatch(/^token_retired/);
  });
});
