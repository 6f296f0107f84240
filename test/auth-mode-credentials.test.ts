import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../src/cli/exit-codes.js';
import { bscupsInProcess as runCli, bscupsJson as cliJson } from './support/cli-in-process.js';

// Issue 17.1: an import row, `station auth --mode` (and the API and dashboard behind the same
// operation) never switch a station to an auth mode it holds no credential for: the station would be
// refused at its next call, fall to its backup set and be refused again. Refused with the reason
// unless --force, the rule `revoke` already follows.

let dir: string;
let env: Record<string, string>;
const A = '0016C001FF10A235';
const B = '0016C001FF10A236';

interface Report {
  counts: Record<string, number>;
  rows: { row: number; eui: string | null; action: string; fields?: string[]; errors?: { field: string | null; code: string; message: string }[] }[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-mode-cred-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs'), BSCUPS_PKI_DIR: join(dir, 'pki') };
  for (const eui of [A, B]) expect((await runCli(['station', 'add', eui], env)).code).toBe(0);
  expect((await runCli(['pki', 'init'], env)).code).toBe(0);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function mode(eui: string): Promise<string> {
  return (await cliJson<{ mode: string }>(['station', 'auth', eui], env)).mode;
}

describe('a station is never switched to an auth mode it holds no credential for', () => {
  it('an import refuses that row with its reason, applies the others, and exits 2; --force applies it', async () => {
    const file = join(dir, 'modes.csv');
    await writeFile(file, ['eui,name,labels,cupsUri,tcUri,authMode', `${A},roof-1,site=north,,,token`, `${B},roof-2,site=west,,,`].join('\n'));
    const r = await runCli(['--json', 'station', 'import', file], env);
    expect(r.code, r.stderr).toBe(EXIT_CODE.invalid_argument);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.rows[0]).toMatchObject({ eui: A, action: 'error', errors: [{ field: 'authMode', code: 'no_credential_for_mode', message: expect.stringContaining('holds no CUPS token') }] });
    expect(report.rows[0]?.errors?.[0]?.message).toContain(`bscups station issue-token ${A}`);
    expect(report.rows[1]).toMatchObject({ eui: B, action: 'update', fields: ['name', 'labels'] });
    // Nothing of the refused row applied: neither its mode nor its other fields.
    expect(await mode(A)).toBe('none');
    expect((await cliJson<{ name: string | null }>(['station', 'show', A], env)).name).toBeNull();

    // A dry run says the same.
    const dry = await runCli(['--json', 'station', 'import', file, '--dry-run'], env);
    expect((JSON.parse(dry.stdout) as Report).rows[0]).toMatchObject({ action: 'error', errors: [{ code: 'no_credential_for_mode' }] });

    // A new station created with a mode is refused too: it holds nothing yet.
    const created = join(dir, 'created.csv');
    await writeFile(created, ['eui,authMode', '0016C001FF10A237,mtls'].join('\n'));
    const c = await runCli(['--json', 'station', 'import', created], env);
    expect((JSON.parse(c.stdout) as Report).rows[0]).toMatchObject({ action: 'error', errors: [{ code: 'no_credential_for_mode', message: expect.stringContaining('holds no CUPS client certificate') }] });

    const forced = await cliJson<Report>(['station', 'import', file, '--force'], env);
    expect(forced.rows[0]).toMatchObject({ eui: A, action: 'update', fields: ['name', 'labels', 'authMode'] });
    expect(await mode(A)).toBe('token');
    const audit = await cliJson<{ action: string; detail: Record<string, unknown> }[]>(['audit', '--limit', '1'], env);
    expect(audit[0]).toMatchObject({ action: 'station.import', detail: { force: true } });
  });

  it('an import that sets the mode of a credential the station holds goes through', async () => {
    const home = join(dir, 'home-b');
    const issued = await runCli(['--json', 'station', 'issue-token', B, '--out', home], env);
    expect(issued.code, issued.stderr).toBe(0);
    const file = join(dir, 'token.csv');
    await writeFile(file, ['eui,authMode', `${B},token`].join('\n'));
    const r = await cliJson<Report>(['station', 'import', file], env);
    expect(r.rows[0]).toMatchObject({ eui: B, action: 'update', fields: ['authMode'] });
    expect(await mode(B)).toBe('token');
    // B holds a token but no certificate: mtls is refused, none never is.
    const mtls = await runCli(['--json', 'station', 'auth', B, '--mode', 'mtls'], env);
    expect(mtls.code).toBe(EXIT_CODE.conflict);
    expect(JSON.parse(mtls.stderr)).toMatchObject({ error: { code: 'no_credential_for_mode', kind: 'conflict', message: expect.stringContaining('issue-cert') } });
    expect(await mode(B)).toBe('token');
    expect((await runCli(['station', 'auth', B, '--mode', 'none'], env)).code).toBe(0);
  });

  it('station auth --mode refuses a mode without its credential, says why, and --force sets it', async () => {
    const eui = '0016C001FF10A238';
    expect((await runCli(['station', 'add', eui], env)).code).toBe(0);
    const r = await runCli(['station', 'auth', eui, '--mode', 'token'], env);
    expect(r.code).toBe(EXIT_CODE.conflict);
    expect(r.stderr).toContain(`station ${eui} holds no CUPS token`);
    expect(await mode(eui)).toBe('none');
    expect((await runCli(['station', 'auth', eui, '--mode', 'token', '--force'], env)).code).toBe(0);
    expect(await mode(eui)).toBe('token');
  });
});
