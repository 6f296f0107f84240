import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCert, type IssuedCert } from '../src/pki/index.js';
import { createSimulatedStation, initStationHome, type ExchangeResult } from '../src/simulator/index.js';
import { serverCertificateNames, stationAcceptsServerName } from '../src/simulator/station-server-name.js';
import { serverCertVariant, startNothingToChangeServer, type NothingToChangeServer } from './support/server-cert-variants.js';

// PROTOCOL.md section 7, fact by fact, on real certificates and over real TLS sockets.

const EUI = '0016C001FF10A235';
let dir: string;
let ca: IssuedCert;
let homes = 0;
const servers: NothingToChangeServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-tls-names-'));
  ca = await createCa({ commonName: 'tls names CA' });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function serve(cert: IssuedCert): Promise<NothingToChangeServer> {
  const server = await startNothingToChangeServer(cert);
  servers.push(server);
  return server;
}

/** One exchange of the simulator, as a station trusting the test CA, with the given cups.uri. */
async function simulatorExchange(cupsUri: string): Promise<ExchangeResult> {
  const home = join(dir, `home-${++homes}`);
  await initStationHome(home, { cupsUri, cupsTrust: ca.certDer });
  return createSimulatedStation({ home, eui: EUI, timeoutMs: 10_000 }).exchange();
}

/** What Node's own TLS client decides for the same server: null when it accepts, else its error code. */
function nodeClientVerdict(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(e.code ?? e.message);
    });
  });
}

/** Node's checkServerIdentity on the certificate's own SAN and CN, without a socket. */
function nodeAccepts(host: string, cert: IssuedCert): boolean {
  const x = new X509Certificate(cert.certDer);
  const cn = /^CN=(.*)$/m.exec(x.subject)?.[1];
  const peer = { subject: cn === undefined ? {} : { CN: cn }, subjectaltname: x.subjectAltName } as unknown as tls.PeerCertificate;
  return tls.checkServerIdentity(host, peer) === undefined;
}

const stationAccepts = (host: string, cert: IssuedCert): boolean => stationAcceptsServerName(host, serverCertificateNames(cert.certDer));

describe('PROTOCOL.md 7: the TLS server name as station 2.0.6 checks it', () => {
  it('7.1: the simulator refuses a certificate that names 127.0.0.1 only as an IP address (and the CN), where Node accepts it', async () => {
    const ipOnly = await serverCertVariant(ca, { cn: '127.0.0.1', san: [{ type: 'ip', value: '127.0.0.1' }] });
    const server = await serve(ipOnly);
    const result = await simulatorExchange(`https://127.0.0.1:${server.port}`);
    expect(result.ok).toBe(false);
    expect(result.error).toContain('BADCERT_CN_MISMATCH');
    expect(result.error).toContain('X509 - Certificate verification failed');
    expect(result.error).toContain('DNS name');
    // Node's default check is what the simulator must not use: it accepts this certificate.
    expect(await nodeClientVerdict(server.port)).toBeNull();
  });

  it('7.1: the same host is accepted once the certificate also names it as a DNS name', async () => {
    const both = await serverCertVariant(ca, { cn: 'anything', san: [{ type: 'dns', value: '127.0.0.1' }, { type: 'ip', value: '127.0.0.1' }] });
    const server = await serve(both);
    const result = await simulatorExchange(`https://127.0.0.1:${server.port}`);
    expect(result).toMatchObject({ ok: true, status: 200, nothingToChange: true });
    expect(server.handshakes).toHaveLength(1);
  });

  it('7.1: with a SAN, a wildcard dNSName stands for one label and the CN is not looked at', async () => {
    const wildcard = await serverCertVariant(ca, { cn: 'gw.other.example', san: [{ type: 'dns', value: '*.example.com' }, { type: 'url', value: 'https://x.example.com' }] });
    expect(stationAccepts('gw-7.example.com', wildcard)).toBe(true);
    expect(stationAccepts('GW-7.EXAMPLE.COM', wildcard)).toBe(true);
    expect(stationAccepts('a.gw-7.example.com', wildcard)).toBe(false);
    expect(stationAccepts('example.com', wildcard)).toBe(false);
    expect(stationAccepts('x.example.com', wildcard)).toBe(true);
    expect(stationAccepts('gw.other.example', wildcard)).toBe(false);
  });

  it('7.2: without a SAN the CN decides: the simulator accepts CN=127.0.0.1 for an IP host (Node refuses it) and refuses another CN', async () => {
    const cnOnly = await serverCertVariant(ca, { cn: '127.0.0.1', san: null });
    expect(serverCertificateNames(cnOnly.certDer)).toEqual({ altNames: null, commonNames: ['127.0.0.1'] });
    const server = await serve(cnOnly);
    const accepted = await simulatorExchange(`https://127.0.0.1:${server.port}`);
    expect(accepted).toMatchObject({ ok: true, status: 200 });
    expect(await nodeClientVerdict(server.port)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');

    const otherCn = await serve(await serverCertVariant(ca, { cn: 'cups.example.com', san: null }));
    const refused = await simulatorExchange(`https://127.0.0.1:${otherCn.port}`);
    expect(refused.ok).toBe(false);
    expect(refused.error).toContain('BADCERT_CN_MISMATCH');
    const wildcardCn = await serverCertVariant(ca, { cn: '*.example.com', san: null });
    expect(stationAccepts('gw.example.com', wildcardCn)).toBe(true);
    expect(stationAccepts('a.gw.example.com', wildcardCn)).toBe(false);
  });

  it('7.3: issued server certificates carry an IP address as DNS and IP entries, so the station and Node both accept every name', async () => {
    const names = ['192.0.2.10', 'cups.example.com', 'localhost', '127.0.0.1', '::1'];
    const issued = await issueServerCert(ca, { names });
    expect(new X509Certificate(issued.certDer).subjectAltName).toBe(
      'DNS:192.0.2.10, IP Address:192.0.2.10, DNS:cups.example.com, DNS:localhost, DNS:127.0.0.1, IP Address:127.0.0.1, DNS:::1, IP Address:0:0:0:0:0:0:0:1',
    );
    for (const name of names) {
      expect(stationAccepts(name, issued), `station, ${name}`).toBe(true);
      expect(nodeAccepts(name, issued), `node, ${name}`).toBe(true);
    }
    expect(stationAccepts('192.0.2.11', issued)).toBe(false);
    expect(nodeAccepts('192.0.2.11', issued)).toBe(false);
    // Each entry alone satisfies only one side: both are needed.
    const dnsOnly = await serverCertVariant(ca, { cn: 'x', san: [{ type: 'dns', value: '192.0.2.10' }] });
    const ipOnly = await serverCertVariant(ca, { cn: 'x', san: [{ type: 'ip', value: '192.0.2.10' }] });
    expect([stationAccepts('192.0.2.10', dnsOnly), nodeAccepts('192.0.2.10', dnsOnly)]).toEqual([true, false]);
    expect([stationAccepts('192.0.2.10', ipOnly), nodeAccepts('192.0.2.10', ipOnly)]).toEqual([false, true]);

    const server = await serve(issued);
    expect(await simulatorExchange(`https://127.0.0.1:${server.port}`)).toMatchObject({ ok: true, status: 200 });
    expect(await nodeClientVerdict(server.port)).toBeNull();
  });

  it('7.4: every exchange of the simulator is a new connection with a full handshake, so the name check runs each time', async () => {
    const server = await serve(await issueServerCert(ca, { names: ['127.0.0.1'] }));
    const home = join(dir, `home-${++homes}`);
    await initStationHome(home, { cupsUri: `https://127.0.0.1:${server.port}`, cupsTrust: ca.certDer });
    const station = createSimulatedStation({ home, eui: EUI, timeoutMs: 10_000 });
    for (let i = 0; i < 3; i++) expect(await station.exchange()).toMatchObject({ ok: true, status: 200 });
    expect(server.handshakes).toEqual([{ resumed: false }, { resumed: false }, { resumed: false }]);
  });
});
