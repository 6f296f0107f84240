import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { openRuntime } from '../src/runtime.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';
import { stationRequest } from './support/tls-client.js';

// `bscups serve` as a real process, stopped with SIGTERM while clients hold connections.

const EUI = '0016C001FF10D001';
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-shutdown-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  const runtime = await openRuntime(loadConfig({ database: env.BSCUPS_DATABASE, blobs: env.BSCUPS_BLOBS }, {}));
  await runtime.registry.createStation({ eui: EUI });
  await runtime.close();
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

interface Conn {
  readonly socket: Socket;
  received: string;
  readonly closed: Promise<void>;
}

async function open(url: string): Promise<Conn> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on('error', () => undefined);
  const conn: Conn = { socket, received: '', closed: once(socket, 'close').then(() => undefined) };
  socket.on('data', (c: Buffer) => (conn.received += c.toString('latin1')));
  await once(socket, 'connect');
  return conn;
}

/** A station poll whose headers are sent and whose body stops 10 bytes short; resolves once the server has taken the request (its 100 Continue). */
async function pollInProgress(s: ServeProcess): Promise<{ conn: Conn; rest: Buffer }> {
  const port = Number(new URL(s.url).port);
  const bytes = encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(stationRequest(EUI)), headerLines: 'Expect: 100-continue' });
  const conn = await open(s.url);
  conn.socket.write(bytes.subarray(0, bytes.length - 10));
  while (!conn.received.includes('100 Continue')) await once(conn.socket, 'data');
  return { conn, rest: bytes.subarray(bytes.length - 10) };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('bscups serve on SIGTERM', () => {
  it('closes idle connections on both listeners at once, lets the answer in progress finish, then exits', async () => {
    const s = await startServeProcess({ ...env, BSCUPS_DRAIN_TIMEOUT: '60' }, ['--allow-unauthenticated']);
    try {
      const silentStation = await open(s.url);
      const silentAdmin = await open(s.admin);
      const { conn: slow, rest } = await pollInProgress(s);
      const exited = once(s.child, 'exit') as Promise<[number | null, string | null]>;
      s.child.kill('SIGTERM');
      // Far sooner than the 60 s drain: idle connections are not waited for.
      await within(Promise.all([silentStation.closed, silentAdmin.closed]), 15_000, 'the idle connections closed');
      expect(slow.socket.destroyed).toBe(false);
      slow.socket.write(rest);
      await within(slow.closed, 15_000, 'the answer in progress');
      expect(slow.received).toMatch(/HTTP\/1\.1 200 OK\r\n/);
      expect(slow.received).toMatch(/\r\nconnection: close\r\n/i);
      const [code] = await within(exited, 15_000, 'the exit after the last answer');
      expect(code).toBe(0);
    } finally {
      await s.stop();
    }
  });

  it('exits after the drain deadline when an answer in progress never finishes', async () => {
    const s = await startServeProcess(env, ['--allow-unauthenticated', '--drain-timeout', '1']);
    try {
      const { conn: stuck } = await pollInProgress(s);
      const exited = once(s.child, 'exit') as Promise<[number | null, string | null]>;
      const t0 = Date.now();
      s.child.kill('SIGTERM');
      const [code] = await within(exited, 15_000, 'the exit');
      expect(code).toBe(0);
      await within(stuck.closed, 1_000, 'the stuck connection closed by the server');
      // The 1 s drain, plus the time a loaded machine takes to close the registry.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    } finally {
      await s.stop();
    }
  });
});
