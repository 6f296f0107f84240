import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCa,
  euiFromCertificate,
  issueServerCert,
  issueStationCert,
  type IssuedCert,
} from '../src/pki/index.js';

type Outcome = { ok: true; socket: tls.TLSSocket } | { ok: false; error: NodeJS.ErrnoException };

/** A TLS server that records each handshake's outcome so tests can await the next one instead of sleeping. */
interface TestServer {
  readonly port: number;
  next(): Promise<Outcome>;
  close(): Promise<void>;
}

async function startServer(serverCert: IssuedCert, trust: IssuedCert, rejectUnauthorized: boolean): Promise<TestServer> {
  const outcomes: Outcome[] = [];
  let notify: (() => void) | undefined;
  const record = (outcome: Outcome): void => {
    outcomes.push(outcome);
    notify?.();
  };
  const server = tls.createServer({
    cert: serverCert.certPem,
    key: serverCert.keyPem,
    ca: trust.certPem,
    requestCert: true,
    rejectUnauthorized,
  });
  server.on('secureConnection', (socket) => {
    record({ ok: true, socket });
    socket.end('hello');
  });
  server.on('tlsClientError', (error) => record({ ok: false, error }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    next: () => {
      const ready = outcomes.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve) => {
        notify = () => {
          notify = undefined;
          resolve(outcomes.shift() as Outcome);
        };
      });
    },
    close: async () => {
      server.close();
      await once(server, 'close');
    },
  };
}

let ca: IssuedCert;
/** The server under test: mutual TLS, client certificates required and verified. */
let strict: TestServer;
/** Same certificates but accepts any client, so a test can read why the strict one refused. */
let lenient: TestServer;

beforeAll(async () => {
  ca = await createCa({ commonName: 'tls test CA' });
  const serverCert = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
  strict = await startServer(serverCert, ca, true);
  lenient = await startServer(serverCert, ca, false);
});

afterAll(async () => {
  await Promise.all([strict.close(), lenient.close()]);
});

/** Why the CA refuses `client`: the verification error Node reports on an accepting server. */
async function verifyErrorOf(client: IssuedCert): Promise<string | null> {
  const [, outcome] = await Promise.all([connectAs(client, lenient.port), lenient.next()]);
  if (!outcome.ok) throw outcome.error;
  const reason = outcome.socket.authorizationError;
  return reason === null ? null : String(reason);
}

/** Connects as a station; resolves with the client's view (data received or the error it saw). */
async function connectAs(client: IssuedCert, port = strict.port): Promise<{ data: string; error?: Error }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: client.certPem, key: client.keyPem });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  return new Promise((resolve) => {
    socket.on('error', (error) => {
      socket.destroy();
      resolve({ data, error });
    });
    socket.on('close', () => resolve({ data }));
  });
}

describe('mutual TLS with issued certificates', () => {
  it('completes the handshake and the server reads the station EUI from the peer certificate', async () => {
    const station = await issueStationCert(ca, { eui: 'b827:ebff:fe61:f1a5' });
    const [client, outcome] = await Promise.all([connectAs(station), strict.next()]);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.socket.authorized).toBe(true);
    const peer = outcome.socket.getPeerCertificate();
    expect(peer.subject.CN).toBe('B827EBFFFE61F1A5');
    expect(peer.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(station.fingerprint256);
    expect(euiFromCertificate(peer)).toEqual(['B827EBFFFE61F1A5']);
    expect(client.error).toBeUndefined();
    expect(client.data).toBe('hello');
    expect(await verifyErrorOf(station)).toBeNull();
  });

  // Node's server drops a refused client without passing the verification error on
  // (tlsClientError only says the socket closed), so the reason is read from the lenient twin.
  it('rejects a station certificate issued by a different CA', async () => {
    const foreignCa = await createCa({ commonName: 'tls test CA' });
    const foreign = await issueStationCert(foreignCa, { eui: '0016C001FF10A235' });
    const [client, outcome] = await Promise.all([connectAs(foreign), strict.next()]);
    expect(outcome.ok).toBe(false);
    // Under TLS 1.3 the client finishes its side first; it only sees the server hang up without a greeting.
    expect(client.data).toBe('');
    expect(await verifyErrorOf(foreign)).toMatch(/CERT_SIGNATURE_FAILURE|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it('rejects an expired station certificate', async () => {
    const day = 86_400_000;
    const expired = await issueStationCert(ca, {
      eui: '0016C001FF10A235',
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
    const [client, outcome] = await Promise.all([connectAs(expired), strict.next()]);
    expect(outcome.ok).toBe(false);
    // Under TLS 1.3 the client finishes its side first; it only sees the server hang up without a greeting.
    expect(client.data).toBe('');
    expect(await verifyErrorOf(expired)).toBe('CERT_HAS_EXPIRED');
  });

  it('lets a station that trusts another CA refuse the server certificate', async () => {
    const foreignCa = await createCa({ commonName: 'elsewhere' });
    const station = await issueStationCert(ca, { eui: '::1' });
    const socket = tls.connect({
      host: '127.0.0.1',
      port: strict.port,
      ca: foreignCa.certPem,
      cert: station.certPem,
      key: station.keyPem,
    });
    const [[error], outcome] = await Promise.all([
      once(socket, 'error') as Promise<[NodeJS.ErrnoException]>,
      strict.next(),
    ]);
    socket.destroy();
    expect(error.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/);
    expect(outcome.ok).toBe(false);
  });
});
