import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

let srv: TestServer;
let work: string;

beforeAll(async () => {
  srv = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'bscups-sim-safety-'));
});
afterAll(async () => srv.stop());

describe('simulate --init keeps an existing station unless told', () => {
  it('refuses a home holding station files, says what would be lost, and starts over only with --force', async () => {
    const home = join(work, 'kept');
    const eui = '0016C001FF10C001';
    const first = await bscupsInProcess(['simulate', '--home', home, '--eui', eui, '--init', srv.url, '--package', '1.0.0']);
    expect(first.stderr).not.toContain('home_exists');
    await writeFile(join(home, 'cups.key'), 'Authorization: Bearer kept-secret\n');

    const again = await bscupsInProcess(['simulate', '--home', home, '--eui', eui, '--init', 'http://127.0.0.1:1']);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('home_exists');
    expect(again.stderr).toContain('cups.key');
    expect(again.stderr).toContain('--force');
    expect(await readFile(join(home, 'cups.key'), 'utf8')).toContain('kept-secret');
    expect((await readFile(join(home, 'cups.uri'), 'utf8')).trim()).toBe(srv.url);

    await bscupsInProcess(['simulate', '--home', home, '--eui', eui, '--init', srv.url, '--force']);
    await expect(readFile(join(home, 'cups.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('simulate --loop paces itself for a test tool', () => {
  it('a station in sync is asked again within seconds, not the 24 h a real station waits', async () => {
    const eui = '0016C001FF10C002';
    const home = join(work, 'loop');
    await bscupsJson(['station', 'add', eui, '--tc-uri', 'ws://127.0.0.1:6092'], srv.env);
    await bscupsJson(['simulate', '--home', home, '--eui', eui, '--init', srv.url]);
    const started = Date.now();
    const loop = await bscupsInProcess(['simulate', '--home', home, '--eui', eui, '--loop', '--max-exchanges', '2'], srv.env);
    expect(loop.code).toBe(0);
    expect(loop.stdout).toBe('nothing to change\nnothing to change\n');
    expect(loop.stderr).toContain('Next CUPS interaction in 5000 ms');
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('--station-timing and --interval-ms exclude each other', async () => {
    const r = await bscupsInProcess(['simulate', '--home', join(work, 'loop'), '--eui', '0016C001FF10C002', '--loop', '--station-timing', '--interval-ms', '10']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('conflicting_options');
  });
});
