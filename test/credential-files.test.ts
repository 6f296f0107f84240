import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryStores } from '../src/registry/index.js';
import { cliArgv } from './support/cli.js';

// Credential files the CLI writes (issue 16, item 3) are created, never written
// through: a symlink planted as cups.key must not receive the station's key, an
// existing file is replaced only with --force (atomically), and files are 0600,
// folders 0700 even under umask 000. The real CLI, run by `sh -c 'umask 000; exec …'`
// in a folder of its own with the default ./data locations.

const EUI = '0016C001FF10A235';
let cwd: string;

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', 'umask 000; exec "$@"', 'sh', ...cliArgv(['--json', ...args])], { cwd, env: { ...process.env, BSCUPS_LOG_LEVEL: 'silent', BSCUPS_DATABASE: '', BSCUPS_BLOBS: '', BSCUPS_PKI_DIR: '' } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

async function ok(args: readonly string[]): Promise<unknown> {
  const r = await cli(args);
  expect(r.code, `bscups ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as unknown;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function auditActions(): Promise<string[]> {
  const stores = await createRegistryStores(join(cwd, 'data', 'registry.sqlite'));
  try {
    return (await stores.access.queryAudit({ limit: 100 })).items.map((e) => e.action);
  } finally {
    await stores.registry.close();
  }
}

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'bscups-files-'));
});

afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('credential files under umask 000', () => {
  it('pki init: data/ and data/pki/ are 0700, its files 0600, and it is audited, --force too', async () => {
    await ok(['pki', 'init']);
    expect(await mode(join(cwd, 'data'))).toBe(0o700);
    expect(await mode(join(cwd, 'data', 'pki'))).toBe(0o700);
    for (const f of ['ca.pem', 'ca.key', 'server.pem', 'server.key']) expect(await mode(join(cwd, 'data', 'pki', f)), f).toBe(0o600);
    const before = await readFile(join(cwd, 'data', 'pki', 'server.pem'), 'utf8');
    await ok(['pki', 'init', '--force', '--server-name', 'cups.example.com']);
    expect(await readFile(join(cwd, 'data', 'pki', 'server.pem'), 'utf8')).not.toBe(before);
    expect(await mode(join(cwd, 'data', 'pki', 'server.key'))).toBe(0o600);
    expect((await auditActions()).filter((a) => a === 'pki.init')).toHaveLength(2);
  }, 120_000);

  it('keys generate: keys/ is 0700 and both files 0600; an existing file is kept without --force', async () => {
    await ok(['keys', 'generate', '--out', 'keys']);
    expect(await mode(join(cwd, 'keys'))).toBe(0o700);
    expect(await mode(join(cwd, 'keys', 'sig-0.pem'))).toBe(0o600);
    expect(await mode(join(cwd, 'keys', 'sig-0.key'))).toBe(0o600);
    const pem = await readFile(join(cwd, 'keys', 'sig-0.pem'), 'utf8');
    const again = await cli(['keys', 'generate', '--out', 'keys']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/file_exists/);
    expect(await readFile(join(cwd, 'keys', 'sig-0.pem'), 'utf8')).toBe(pem);
  }, 120_000);

  it('station issue-cert --out: a planted symlink is refused with the station unchanged, an existing file needs --force, modes are 0600/0700', async () => {
    await ok(['station', 'add', EUI]);
    const out = join(cwd, 'out');
    await mkdir(out, { mode: 0o700 });
    const victim = join(cwd, 'victim.txt');
    await writeFile(victim, 'not for a key\n');
    await symlink(victim, join(out, 'cups.key'));

    const planted = await cli(['station', 'issue-cert', EUI, '--out', out]);
    expect(planted.code).not.toBe(0);
    expect(planted.stderr).toMatch(/symbolic link/);
    expect(await readFile(victim, 'utf8')).toBe('not for a key\n');
    expect((await lstat(join(out, 'cups.key'))).isSymbolicLink()).toBe(true);
    // Refused before issuing: no credential was made the station's desired one.
    expect(await auditActions()).not.toContain('credential.issue_cert');

    // --force never writes through a link either.
    const forcedLink = await cli(['station', 'issue-cert', EUI, '--out', out, '--force']);
    expect(forcedLink.code).not.toBe(0);
    expect(await readFile(victim, 'utf8')).toBe('not for a key\n');

    await unlink(join(out, 'cups.key'));
    await writeFile(join(out, 'cups.key'), 'old key\n');
    const existing = await cli(['station', 'issue-cert', EUI, '--out', out]);
    expect(existing.code).not.toBe(0);
    expect(existing.stderr).toMatch(/file_exists/);
    expect(await readFile(join(out, 'cups.key'), 'utf8')).toBe('old key\n');

    await ok(['station', 'issue-cert', EUI, '--out', out, '--force']);
    expect(await readFile(join(out, 'cups.key'), 'utf8')).not.toBe('old key\n');
    for (const f of ['cups.trust', 'cups.crt', 'cups.key']) {
      expect((await lstat(join(out, f))).isFile(), f).toBe(true);
      expect(await mode(join(out, f)), f).toBe(0o600);
    }
    expect(await readFile(victim, 'utf8')).toBe('not for a key\n');

    // A folder --out makes is owner-only, and issue-token writes the same way.
    await ok(['station', 'issue-token', EUI, '--out', join(cwd, 'fresh', 'station')]);
    expect(await mode(join(cwd, 'fresh'))).toBe(0o700);
    expect(await mode(join(cwd, 'fresh', 'station'))).toBe(0o700);
    expect(await mode(join(cwd, 'fresh', 'station', 'cups.key'))).toBe(0o600);
  }, 240_000);
});
