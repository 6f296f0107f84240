import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createCa, issueServerCert } from '../src/pki/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { rawExchange, responseComplete } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';

const EUI = '0016C001FF10A235';
// Short deadlines keep the suite fast; the mechanism is the same at the defaults.
const REQUEST_S = 1;
const HEADERS_S = 0.5;

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

async function start(config: Record<string, number>): Promise<TestServer> {
  srv = await startTestServer({ config: { requestTimeout: REQUEST_S, headersTimeout: HEADERS_S, keepAliveTimeout: 0.5, ...config } });
  await srv.runtime.registry.createStation({ eui: EUI });
  return srv;
}

function stationBytes(port: number): Buffer {
  return encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(stationRequest(EUI)) });
}

/** A client connection that records when the server ended it; it never closes by itself. */
interface Held {
  readonly socket: Socket;
  readonly opened: number;
  /** Resolves with the time the server closed it. */
  readonly closed: Promise<number>;
}

async function hold(port: number, send: string | null): Promise<Held> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  // Reading keeps the stream flowing so the end of the connection is seen.
  socket.resume();
  const closed = once(socket, 'close').then(() => Date.now());
  await once(socket, 'connect');
  if (send !== null) socket.write(send);
  return { socket, opened: Date.now(), closed };
}

/** Resolves once the server has no connection left open (polled), failing if one is still open after `withinMs`. */
async function serverConnectionsGone(s: TestServer, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const open = await new Promise<number>((resolve, reject) => s.server.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`the server still holds ${open} connection(s) ${withinMs} ms after the last request was sent`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Awaits every close, failing (not hanging) if any is still open after `withinMs`. */
async function closedWithin(held: readonly Held[], withinMs: number): Promise<number[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${held.filter((h) => !h.socket.closed).length} connection(s) still open after ${withinMs} ms`)), withinMs);
  });
  try {
    const at = await Promise.race([Promise.all(held.map((h) => h.closed)), timeout]);
    return at.map((t, i) => t - (held[i] as Held).opened);
  } finally {
    clearTimeout(timer);
  }
}

describe('connection deadlines and cap', () => {
  it('closes hundreds of stalled and slow connections within the deadlines while a station is answered within a second', async () => {
    const s = await start({ maxConnections: 1000 });
    const stalledBody = 'POST /update-info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8000\r\n\r\n{';
    const slowHeaders = 'POST /update-info HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    const held = [
      ...(await Promise.all(Array.from({ length: 250 }, () => hold(s.port, stalledBody)))),
      ...(await Promise.all(Array.from({ length: 100 }, () => hold(s.port, slowHeaders)))),
      ...(await Promise.all(Array.from({ length: 50 }, () => hold(s.port, null)))),
    ];
    // Slowloris: keep dribbling header bytes; only the deadline from the request start can stop it.
    const dribble = setInterval(() => {
      for (const h of held.slice(250, 350)) if (!h.socket.closed) h.socket.write('a');
    }, 100);
    try {
      const t0 = performance.now();
      const answer = await rawExchange(s.port, stationBytes(s.port));
      const ms = performance.now() - t0;
      expect(answer.status).toBe(200);
      expect(ms).toBeLessThan(1000);

      const lifetimes = await closedWithin(held, REQUEST_S * 1000 + 2000);
      // The server, not the client, ended each one, within its deadline plus a check interval (and slack for a busy CI machine).
      expect(Math.max(...lifetimes)).toBeLessThan(REQUEST_S * 1000 + 1000);
      expect(Math.max(...lifetimes.slice(250, 400))).toBeLessThan(HEADERS_S * 1000 + 1000);
    } finally {
      clearInterval(dribble);
    }
  });

  it('closes connections beyond the cap at once, counts them, and serves stations again when room frees', async () => {
    const s = await start({ maxConnections: 40 });
    const stalled = await Promise.all(Array.from({ length: 40 }, () => hold(s.port, 'POST /update-info HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{')));
    const extra = await hold(s.port, null);
    const [lifetime] = await closedWithin([extra], 500);
    expect(lifetime).toBeLessThan(500);
    const metrics = await rawExchange(s.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').catch(() => undefined);
    // The cap is still full, so even this is refused; once the deadline frees the slots the station gets in.
    expect(metrics).toBeUndefined();
    await closedWithin(stalled, REQUEST_S * 1000 + 2000);
    const answer = await rawExchange(s.port, stationBytes(s.port));
    expect(answer.status).toBe(200);
    const text = (await rawExchange(s.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).body.toString();
    expect(Number(/^bscups_connections_refused_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const s = await start({});
    const socket = connect({ host: '127.0.0.1', port: s.port });
    const closed = once(socket, 'close');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const answeredAt = await new Promise<number>((resolve) => socket.on('data', () => responseComplete(Buffer.concat(chunks)) && resolve(Date.now())));
    await closed;
    const idle = Date.now() - answeredAt;
    // Node keeps the socket up to one second past keepAliveTimeout, for requests already in flight.
    expect(idle).toBeGreaterThanOrEqual(400);
    expect(idle).toBeLessThan(2500);
  });

  it.each([
    ['up-to-date polls', (port: number) => stationBytes(port)],
    ['bad requests', () => Buffer.from('POST /update-info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}')],
  ] as const)('closes a connection that pipelines %s and never reads the answers, after the idle timeout', async (_what, request) => {
    // Request and headers deadlines far away: only the idle timeout may close this connection within the test.
    const s = await start({ idleTimeout: 1, requestTimeout: 60, headersTimeout: 60 });
    // The station's first report, so the pipelined polls below are up-to-date ones answered from memory.
    expect((await rawExchange(s.port, stationBytes(s.port))).status).toBe(200);
    // Counted by the server before anything is sent, so "no connection left" below is about this one.
    const accepted = once(s.server.app.server, 'connection');
    const socket = connect({ host: '127.0.0.1', port: s.port });
    socket.on('error', () => undefined);
    await Promise.all([once(socket, 'connect'), accepted]);
    // Never read: the answers fill the kernel's buffers, then the server's, and the server stops reading.
    socket.pause();
    const many = Buffer.concat(Array.from({ length: 2_000 }, () => request(s.port)));
    for (let i = 0; i < 30; i++) socket.write(many);
    // Judged on the server, within 8 s of the last write: a client that reads nothing and has nothing left to send does not learn of the reset.
    try {
      await serverConnectionsGone(s, 8_000);
    } finally {
      socket.destroy();
    }
  });

  it('over TLS, closes connections that never finish the handshake or stall after it, while a station is answered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bscups-limits-'));
    try {
      const ca = await createCa({ commonName: 'limits test CA' });
      const cert = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
      await writeFile(join(dir, 'server.pem'), cert.certPem);
      await writeFile(join(dir, 'server.key'), cert.keyPem);
      srv = await startTestServer({
        tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key') },
        config: { requestTimeout: REQUEST_S, headersTimeout: HEADERS_S, keepAliveTimeout: 0.5 },
      });
      await srv.runtime.registry.createStation({ eui: EUI });
      const port = srv.port;
      // Silent TCP: the handshake never starts.
      const silent = await Promise.all(Array.from({ length: 100 }, () => hold(port, null)));
      // A finished handshake, then a body that never comes.
      const stalled = await Promise.all(
        Array.from({ length: 50 }, async (): Promise<Held> => {
          const socket = tlsConnect({ host: '127.0.0.1', port, ca: ca.certPem });
          socket.on('error', () => undefined);
          socket.resume();
          const closed = once(socket, 'close').then(() => Date.now());
          await once(socket, 'secureConnect');
          socket.write('POST /update-info HTTP/1.1\r\nHost: x\r\nContent-Length: 8000\r\n\r\n{');
          return { socket, opened: Date.now(), closed };
        }),
      );
      const t0 = performance.now();
      const answer = await tlsExchange({ port, ca: ca.certPem, request: stationRequest(EUI) });
      expect(answer.status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(1000);
      const silentLife = await closedWithin(silent, HEADERS_S * 1000 + 2000);
      expect(Math.max(...silentLife)).toBeLessThan(HEADERS_S * 1000 + 1000);
      const stalledLife = await closedWithin(stalled, REQUEST_S * 1000 + 2000);
      expect(Math.max(...stalledLife)).toBeLessThan(REQUEST_S * 1000 + 1000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
