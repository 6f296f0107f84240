import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { ensureTestRegistry } from './support/registry-fixture.js';

const EUI = '0016C001FF10E7A1';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-operator-errors-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

describe('a registry file that is not a usable SQLite database', () => {
  it('garbage: says the file is not a SQLite database, not that a database server is down', async () => {
    const file = join(dir, 'garbage.sqlite');
    await writeFile(file, Buffer.alloc(8192, 0x41));
    const r = await runCli(['--database', file, '--blobs', join(dir, 'blobs'), 'station', 'list']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`${file} is not a SQLite database`);
    expect(r.stderr).toContain('registry_not_sqlite');
    expect(r.stderr).not.toMatch(/is running|reachable/);
  });

  it('a damaged registry: says it is damaged and how to recover', async () => {
    const file = join(dir, 'damaged.sqlite');
    await ensureTestRegistry({ BSCUPS_DATABASE: file });
    await bscupsJson(['--database', file, '--blobs', join(dir, 'blobs'), 'station', 'add', EUI]);
    const bytes = await readFile(file);
    // Keep the header page, overwrite the rest: the file still says SQLite but its b-trees are gone.
    bytes.fill(0x41, 4096);
    await writeFile(file, bytes);
    await rm(`${file}-wal`, { force: true });
    await rm(`${file}-shm`, { force: true });
    const r = await bscupsInProcess(['--json', '--database', file, '--blobs', join(dir, 'blobs'), 'station', 'list']);
    expect(r.code).toBe(6);
    const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe('registry_corrupt');
    expect(error.message).toContain('damaged SQLite database');
  });
});

describe('a private key or a CSR given as --trust', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = { BSCUPS_DATABASE: join(dir, 'trust.sqlite'), BSCUPS_BLOBS: join(dir, 'trust-blobs') };
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=lns-ca', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.csr'));
    openssl('pkey', '-in', join(dir, 'ca.key'), '-outform', 'DER', '-out', join(dir, 'ca-key.der'));
    openssl('req', '-in', join(dir, 'ca.csr'), '-outform', 'DER', '-out', join(dir, 'ca-csr.der'));
    await bscupsJson(['station', 'add', EUI], env);
  });

  it.each([
    ['a PKCS#8 key (PEM)', 'ca.key', 'a private key (PEM PRIVATE KEY)'],
    ['a PKCS#8 key (DER)', 'ca-key.der', 'a private key'],
    ['a CSR (PEM)', 'ca.csr', 'a certificate signing request (PEM CERTIFICATE REQUEST)'],
    ['a CSR (DER)', 'ca-csr.der', 'a certificate signing request'],
  ])('%s is refused as not a certificate', async (_what, file, described) => {
    const r = await bscupsInProcess(['station', 'credentials', EUI, '--tc', '--trust', join(dir, file), '--token', 'Authorization: Bearer s3cr3t'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the trust element is ${described}, not an X.509 certificate`);
    expect(r.stderr).not.toMatch(/DER length/);
  });
});

describe('commands that store no blob do not need the blob store', () => {
  it('station add and list work when the blob folder cannot be created; a command that needs blobs still says why it fails', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'not a folder');
    const env = { BSCUPS_DATABASE: join(dir, 'noblobs.sqlite'), BSCUPS_BLOBS: join(blocker, 'blobs') };
    const added = await bscupsInProcess(['station', 'add', EUI], env);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const list = await bscupsJson<{ eui: string }[]>(['station', 'list'], env);
    expect(list.map((s) => s.eui)).toEqual([EUI]);
    const removed = await bscupsInProcess(['--json', 'station', 'remove', EUI], env);
    expect(removed.code).toBe(6);
    expect((JSON.parse(removed.stderr) as { error: { code: string } }).error.code).toBe('blobs_unavailable');
    // Nothing was half done: the station is still registered.
    expect((await bscupsJson<{ eui: string }[]>(['station', 'list'], env)).map((s) => s.eui)).toEqual([EUI]);
  });
});
