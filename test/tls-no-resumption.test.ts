import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCert } from '../src/pki/index.js';
import { startTestServer, type TestServer } from './support/server.js';

// A station never resumes a TLS session (PROTOCOL.md 7.4); the server issues no
// tickets, so no client gets a cheaper handshake than a station, and none are made for nothing.

let srv: TestServer;
let ca = '';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-tls-sessions-'));
  const authority = await createCa();
  const server = await issueServerCert(authority, { names: ['127.0.0.1'] });
  ca = authority.certPem;
  await writeFile(join(dir, 'server.pem'), server.certPem);
  await writeFile(join(dir, 'server.key'), server.keyPem);
  srv = await startTestServer({ tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key') } });
});

afterAll(async () => {
  await srv.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Connects, lets the server send whatever tickets it sends, and returns whether the session was resumed and the last session. */
function handshake(session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let last: Buffer | undefined;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port: srv.port, ca, ...(session === undefined ? {} : { session }) });
    socket.on('session', (s: Buffer) => {
      last = s;
    });
    socket.once('secureConnect', () => {
      // A request makes the server flush its TLS 1.3 post-handshake messages (tickets) before answering.
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', () => undefined);
    socket.once('end', () => {
      resolve({ reused: socket.isSessionReused(), session: last ?? socket.getSession() });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('TLS sessions', () => {
  it('every handshake is a full one, even for a client that offers its previous session', async () => {
    const first = await handshake();
    expect(first.reused).toBe(false);
    const second = await handshake(first.session);
    expect(second.reused).toBe(false);
  });
});
