import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCa, issueServerCert } from '../src/pki/index.js';
import type { ConfigInput } from '../src/config.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';

// The admin listener, attacked the way the outside attack did it: silent
// connections, a TLS port spoken to in silence, a body dripped after a 401, a
// flood past its cap. Each over real sockets.

let srv: TestServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(config: ConfigInput = {}): Promise<TestServer> {
  srv = await startTestServer({ config });
  return srv;
}

function adminPort(s: TestServer): number {
  return s.server.admin.port;
}

/** A connection that records when the server ended it; it never closes by itself. */
async function hold(port: number, send: string | null = null): Promise<{ socket: Socket; opened: number; closed: Promise<number> }> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  socket.resume();
  const closed = once(socket, 'close').then(() => Date.now());
  await once(socket, 'connect');
  if (send !== null) socket.write(send);
  return { socket, opened: Date.now(), closed };
}

/** Resolves with how long after `opened` the server closed it; rejects after `withinMs`. */
async function lifetime(h: { socket: Socket; opened: number; closed: Promise<number> }, withinMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const at = await Promise.race([
      h.closed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the admin connection is still open after ${withinMs} ms`)), withinMs);
      }),
    ]);
    return at - h.opened;
  } finally {
    clearTimeout(timer);
    h.socket.destroy();
  }
}

describe('the admin listener under attack', () => {
  it('closes a silent plain-HTTP connection within 15 s at the default deadlines', async () => {
    const s = await start();
    const h = await hold(adminPort(s));
    expect(await lifetime(h, 15_000)).toBeLessThan(15_000);
  });

  it('over HTTPS, closes a connection that never starts its TLS handshake within the deadline', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bscups-admin-limits-'));
    const ca = await createCa({ commonName: 'admin limits CA' });
    const cert = await issueServerCert(ca, { names: ['127.0.0.1'] });
    await writeFile(join(dir, 'admin.pem'), cert.certPem);
    await writeFile(join(dir, 'admin.key'), cert.keyPem);
    const s = await start({ adminTlsCert: join(dir, 'admin.pem'), adminTlsKey: join(dir, 'admin.key'), adminHeadersTimeout: 0.5, adminRequestTimeout: 1 });
    const h = await hold(adminPort(s));
    // The handshake deadline (silent for adminHeadersTimeout) plus a turn of the loop and a loaded machine's slack.
    expect(await lifetime(h, 5_000)).toBeLessThan(5_000);
  });

  it('closes the connection of a client that keeps dripping its body after its 401', async () => {
    const s = await start();
    const h = await hold(adminPort(s), 'POST /api/v1/stations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    let received = '';
    h.socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const drip = setInterval(() => {
      if (!h.socket.destroyed) h.socket.write(' ');
    }, 100);
    try {
      // Dripping every 100 ms never lets an idle or keep-alive timer fire: only closing after the answer ends it.
      expect(await lifetime(h, 5_000)).toBeLessThan(5_000);
    } finally {
      clearInterval(drip);
    }
    expect(received).toMatch(/^HTTP\/1\.1 401 /);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    // A request that came whole keeps its connection (a dashboard's requests reuse it).
    const whole = await rawExchange(adminPort(s), 'GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(whole.status).toBe(200);
    expect(whole.headers.connection).toBe('keep-alive');
  });

  it('lets a client with a key take longer than the request deadline to send its body', async () => {
    const s = await start({ adminRequestTimeout: 1, adminHeadersTimeout: 0.5 });
    const key = s.server.admin.firstAdminKey as string;
    const body = JSON.stringify({ eui: '0016C001FF10A301', name: 'slow upload' });
    const h = await hold(adminPort(s), `POST /api/v1/stations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    let received = '';
    h.socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    // The body in three parts over more than twice the whole-request deadline.
    for (const part of [body.slice(0, 10), body.slice(10, 20), body.slice(20)]) {
      await new Promise((r) => setTimeout(r, 800));
      h.socket.write(part);
    }
    await h.closed;
    expect(received).toMatch(/^HTTP\/1\.1 201 /);
    expect(await s.runtime.registry.getStation('0016C001FF10A301')).toBeDefined();
  });

  it('closes admin connections beyond its own cap at once, while the station port keeps answering', async () => {
    const s = await start({ adminMaxConnections: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => hold(adminPort(s))));
    const extra = await hold(adminPort(s));
    expect(await lifetime(extra, 2_000)).toBeLessThan(2_000);
    const health = await rawExchange(s.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(health.status).toBe(200);
    for (const h of held) h.socket.destroy();
  });
});
