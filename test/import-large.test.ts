import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCsv, importUnderLoad, peakRss } from './support/import-load.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';

// A 20 MB import through the API (a dry run, as the attack sent it) on the real
// `bscups serve` in a child process: the import is read as a stream, a batch at
// a time, yielding to the event loop, so a station's poll meanwhile answers
// within 1 s and the server's peak RSS stays under 1 GB. Before, the body was
// parsed whole at once: one poll waited 12.8 s and RSS reached 3.4 GB at 60 MB.

const EUI = '0016C001FFAA0001';
let dir: string;
let serve: ServeProcess;
let admin: string;
let key: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-import-large-'));
  serve = await startServeProcess({ BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') }, ['--allow-unauthenticated', '--admin-port', '0']);
  const line = JSON.parse(await serve.waitForLine(/"listening"/)) as { admin: string; firstAdminKey: string };
  admin = line.admin;
  key = line.firstAdminKey;
  const r = await fetch(`${admin}/stations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ eui: EUI }) });
  expect(r.status).toBe(201);
}, 60_000);
afterAll(async () => {
  await serve?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('a 20 MB import through the API', () => {
  it('leaves station polls answered within 1 s and the server under 1 GB of RSS', { timeout: 300_000 }, async () => {
    const body = importCsv(20 * 1024 * 1024);
    const pid = serve.child.pid as number;
    const before = await peakRss(pid);
    const stationPort = Number(new URL(serve.url).port);
    const r = await importUnderLoad({ admin, key, stationPort, eui: EUI, body, pid });
    expect(r.status).toBe(200);
    expect(r.rows).toBeGreaterThan(100_000);
    expect(r.polls).toBeGreaterThan(5);
    console.info(`20 MB dry run: ${r.rows} rows in ${Math.round(r.importMs)} ms; ${r.polls} polls, worst ${Math.round(r.worstPollMs)} ms at ${Math.round(r.worstPollAtMs)} ms; peak RSS ${Math.round(before / 2 ** 20)} → ${Math.round(r.peakRssBytes / 2 ** 20)} MB`);
    expect(r.worstPollMs).toBeLessThan(1_000);
    expect(r.peakRssBytes).toBeLessThan(1024 * 1024 * 1024);
  });
});
