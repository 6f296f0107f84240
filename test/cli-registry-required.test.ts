import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../src/cli/exit-codes.js';
import { bscupsInProcess } from './support/cli-in-process.js';
import { ensureTestRegistry } from './support/registry-fixture.js';

// Issue 17.4: bscups run outside the server's folder used to create and use a new, empty ./data
// registry and print "(none)". Only serve and pki init create one; every other command fails,
// naming the path it looked at and how to point at the right registry.

let server: string;
let elsewhere: string;

beforeAll(async () => {
  server = await mkdtemp(join(tmpdir(), 'bscups-server-folder-'));
  elsewhere = await mkdtemp(join(tmpdir(), 'bscups-elsewhere-'));
  // The server's registry, as `serve` created it in its own folder.
  await ensureTestRegistry({ BSCUPS_DATABASE: join(server, 'data', 'registry.sqlite') });
  expect((await bscupsInProcess(['station', 'add', '0016C001FF10A235', '--name', 'roof-1'], {}, server)).code).toBe(0);
});
afterAll(async () => {
  await rm(server, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

describe('a command on a missing registry', () => {
  it('from another folder: fails with the path it looked at and how to point at the right one, and creates nothing', async () => {
    const r = await bscupsInProcess(['station', 'list'], {}, elsewhere);
    expect(r.code).toBe(EXIT_CODE.not_found);
    const looked = join(elsewhere, 'data', 'registry.sqlite');
    expect(r.stderr).toContain(`no station registry at ${looked}`);
    expect(r.stderr).toContain(`the default ./data/registry.sqlite in the folder this runs in (${elsewhere})`);
    for (const way of ['--database', 'BSCUPS_DATABASE', '--server', '"bscups serve"']) expect(r.stderr).toContain(way);
    expect(r.stdout).not.toContain('(none)');
    expect(existsSync(join(elsewhere, 'data'))).toBe(false);

    const json = await bscupsInProcess(['--json', 'station', 'show', '0016C001FF10A235'], {}, elsewhere);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'registry_not_found', kind: 'not_found' } });
  });

  it('names where the path came from: --database or BSCUPS_DATABASE', async () => {
    const typo = join(server, 'data', 'registy.sqlite');
    const flag = await bscupsInProcess(['station', 'list', '--database', typo], {}, elsewhere);
    expect(flag.code).toBe(EXIT_CODE.not_found);
    expect(flag.stderr).toContain(`no station registry at ${typo} (given by --database)`);
    const env = await bscupsInProcess(['station', 'list'], { BSCUPS_DATABASE: 'sqlite:' + typo }, elsewhere);
    expect(env.stderr).toContain(`no station registry at ${typo} (given by BSCUPS_DATABASE)`);
    expect(existsSync(typo)).toBe(false);
  });

  it('pointed at the server\'s registry, works from anywhere', async () => {
    const r = await bscupsInProcess(['--json', 'station', 'list', '--database', join(server, 'data', 'registry.sqlite')], {}, elsewhere);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { eui: string }[]).map((s) => s.eui)).toEqual(['0016C001FF10A235']);
  });
});
