import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { serverCertificateNames, stationAcceptsServerName } from '../src/simulator/station-server-name.js';
import { bscupsJson } from './support/cli-in-process.js';
import { startTestServer } from './support/server.js';

// Issue 8 item 10: a real station refused `pki init --server-name 127.0.0.1`'s certificate
// for https://127.0.0.1:PORT (PROTOCOL.md 7). Real CLI, real server, real TLS, the simulator.

const EUI = '0016C001FF10A235';
let work: string;

interface InitResult {
  readonly server: { readonly file: string; readonly key: string; readonly names: string[] };
  readonly ca: { readonly file: string };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-pki-ip-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** GET /healthz with Node's standard HTTPS client (its own name check, which matches IP hosts against IP entries). */
function nodeHttpsGet(port: number, caPem: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/healthz', ca: caPem, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/**
 * Serves the PKI folder's server certificate, registers the station, and lets the
 * simulator (checking names as station 2.0.6 does) and Node's HTTPS client reach it
 * at https://127.0.0.1:PORT.
 */
async function reachByIp(init: InitResult): Promise<void> {
  const srv = await startTestServer({ tls: { cert: init.server.file, key: init.server.key } });
  try {
    expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await srv.runtime.registry.createStation({ eui: EUI });
    const caPem = await readFile(init.ca.file, 'utf8');
    const home = join(srv.dir, 'station');
    await initStationHome(home, { cupsUri: srv.url, cupsTrust: new X509Certificate(caPem).raw });
    const result = await createSimulatedStation({ home, eui: EUI, timeoutMs: 10_000 }).exchange();
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(await nodeHttpsGet(srv.port, caPem)).toEqual({ status: 200, body: 'ok\n' });
  } finally {
    await srv.stop();
  }
}

describe('pki init --server-name <IP address>, end to end over TLS', () => {
  it('issues a certificate the simulator (station 2.0.6 rule) and Node both accept at https://127.0.0.1:PORT', async () => {
    const pki = join(work, 'pki-ip');
    const init = await bscupsJson<InitResult>(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1']);
    expect(init.server.names).toEqual(['127.0.0.1', 'localhost']);
    const der = new X509Certificate(await readFile(init.server.file)).raw;
    expect(new X509Certificate(der).subjectAltName).toBe('DNS:127.0.0.1, IP Address:127.0.0.1, DNS:localhost');
    for (const host of ['127.0.0.1', 'localhost']) expect(stationAcceptsServerName(host, serverCertificateNames(der)), host).toBe(true);
    await reachByIp(init);
  });

  it('keeps localhost and 127.0.0.1 when --server-name adds names, and every name is accepted by the station rule', async () => {
    const pki = join(work, 'pki-added');
    const init = await bscupsJson<InitResult>(['pki', 'init', '--dir', pki, '--server-name', '192.0.2.10', '--server-name', 'cups.example.com']);
    expect(init.server.names).toEqual(['192.0.2.10', 'cups.example.com', 'localhost', '127.0.0.1']);
    const x = new X509Certificate(await readFile(init.server.file));
    expect(x.subject).toBe('CN=192.0.2.10');
    for (const host of init.server.names) {
      expect(stationAcceptsServerName(host, serverCertificateNames(x.raw)), host).toBe(true);
      // Node, curl and browsers look an IP host up among the IP entries only.
      expect(isIP(host) !== 0 ? x.checkIP(host) : x.checkHost(host), host).toBeDefined();
    }
    await reachByIp(init);
  });
});
