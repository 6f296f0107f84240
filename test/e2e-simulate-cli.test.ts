import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

let srv: TestServer;
let work: string;

beforeAll(async () => {
  srv = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'bscups-sim-cli-'));
});
afterAll(async () => srv.stop());

describe('bscups simulate (the shipped command)', () => {
  it('creates a home, talks to the server, applies the answer, and exits non-zero on failure', async () => {
    const eui = '0016C001FF10B001';
    const home = join(work, 'st');
    // Not registered yet: the exchange fails with 404 and the command says so.
    const unknown = await runCli(['--json', 'simulate', '--home', home, '--eui', eui, '--init', srv.url, '--package', '1.0.0']);
    expect(unknown.code).not.toBe(0);
    expect(JSON.parse(unknown.stdout)).toEqual([expect.objectContaining({ ok: false, status: 404 })]);

    await bscupsJson(['station', 'add', eui, '--tc-uri', 'ws://127.0.0.1:6092'], srv.env);
    const first = await bscupsJson<{ ok: boolean; applied: string[] }[]>(['simulate', '--home', home, '--eui', eui]);
    expect(first).toEqual([expect.objectContaining({ ok: true, applied: ['tcUri'] })]);
    expect((await readFile(join(home, 'tc.uri'), 'utf8')).trim()).toBe('ws://127.0.0.1:6092');

    const loop = await bscupsJson<{ ok: boolean; nothingToChange: boolean }[]>(['simulate', '--home', home, '--eui', eui, '--loop', '--max-exchanges', '2', '--interval-ms', '10']);
    expect(loop).toHaveLength(2);
    expect(loop.every((r) => r.ok && r.nothingToChange)).toBe(true);

    const human = await bscupsInProcess(['simulate', '--home', home, '--eui', eui]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('nothing to change');
  });

  it('explains itself with --help and refuses a missing home', async () => {
    const help = await bscupsInProcess(['simulate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--home');
    const missing = await bscupsInProcess(['simulate', '--home', join(work, 'nope'), '--eui', '0016C001FF10B002']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--init');
  });
});
