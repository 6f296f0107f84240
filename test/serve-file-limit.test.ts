import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { openRuntime } from '../src/runtime.js';
import { rawExchange } from './support/raw-http.js';
import { startServeProcess } from './support/serve-process.js';
import { stationRequest } from './support/tls-client.js';

// A real `bscups serve` under a low open-file limit (ulimit -n in its shell),
// its admin port flooded with silent connections: the flood must run into the
// admin listener's own cap, never into the files the station port needs.

const EUI = '0016C001FF10E001';
const OPEN_FILES = 400;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-file-limit-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  const runtime = await openRuntime(loadConfig({ database: env.BSCUPS_DATABASE, blobs: env.BSCUPS_BLOBS }, {}));
  await runtime.registry.createStation({ eui: EUI });
  await runtime.close();
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe('bscups serve under a low open-file limit', () => {
  it('answers a station poll while more silent admin connections than the limit are open', async () => {
    const s = await startServeProcess(env, ['--allow-unauthenticated'], { openFiles: OPEN_FILES });
    const flood: Socket[] = [];
    try {
      const admin = new URL(s.admin);
      for (let i = 0; i < OPEN_FILES + 100; i++) {
        const socket = connect({ host: admin.hostname, port: Number(admin.port) });
        socket.on('error', () => undefined);
        flood.push(socket);
      }
      // A server out of files leaves connections in the kernel's backlog, never connected: bounded, then the poll judges.
      await within(Promise.all(flood.map((socket) => once(socket, 'connect').catch(() => undefined))), 15_000, 'the flood connecting').catch(() => undefined);
      const port = Number(new URL(s.url).port);
      const poll = encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(stationRequest(EUI)) });
      const answer = await within(rawExchange(port, poll), 10_000, 'the station poll during the admin flood');
      expect(answer.status).toBe(200);
      // The default caps do not fit in 400 files: they were lowered, and it said so; the flood ran into the admin cap.
      expect(JSON.parse(await s.waitForLine(/connection caps lowered/))).toMatchObject({ openFileLimit: OPEN_FILES });
      await s.waitForLine(/admin connection cap reached/);
    } finally {
      for (const socket of flood) socket.destroy();
      await s.stop();
    }
  });

  it('refuses to start when a cap given by flag does not fit, naming the flag and the limit', async () => {
    await expect(startServeProcess(env, ['--admin-max-connections', '1000'], { openFiles: OPEN_FILES })).rejects.toThrow(/--admin-max-connections.*1000.*open-file limit of 400.*ulimit -n/);
  });
});
