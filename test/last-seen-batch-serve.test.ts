import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { bscupsJson } from './support/cli-in-process.js';
import { exampleRequest } from './support/fixtures.js';
import { rawExchange } from './support/raw-http.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';

// The real server batches the last-seen stamps of polls that change nothing, and
// writes what it holds when it shuts down.

const EUI = '0016C001FF10B0B0';
let work = '';
let env: Record<string, string> = {};
let server: ServeProcess | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-last-seen-'));
  env = { BSCUPS_DATABASE: join(work, 'registry.sqlite'), BSCUPS_BLOBS: join(work, 'blobs') };
  await bscupsJson(['station', 'add', EUI], env);
  // An interval far longer than the test: only shutdown can write the stamp.
  server = await startServeProcess(env, ['--allow-unauthenticated', '--last-seen-interval', '60']);
});

afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

const lastSeen = async () => (await bscupsJson<{ lastSeenAt: string | null }>(['station', 'show', EUI], env)).lastSeenAt;

describe('last-seen stamps in bscups serve', () => {
  it('writes the first report in the exchange, holds a poll that changed nothing, and writes it on shutdown', async () => {
    const port = Number(new URL(server!.url).port);
    const request = encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(exampleRequest({ router: EUI, cupsUri: null, tcUri: null, keys: [] })) });
    expect((await rawExchange(port, request)).status).toBe(200);
    const first = await lastSeen();
    expect(first).not.toBeNull();

    expect((await rawExchange(port, request)).status).toBe(200);
    // Held in the server's batch: another process still sees the first stamp.
    expect(await lastSeen()).toBe(first);

    await server!.stop();
    const written = await lastSeen();
    expect(written).not.toBeNull();
    expect(Date.parse(written!)).toBeGreaterThan(Date.parse(first!));
  });
});
