import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../src/cli/exit-codes.js';
import { adminClient } from './support/admin-client.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

// `station export --spreadsheet-safe`: cells a spreadsheet would run as a formula
// get a leading ', in the local CLI, through --server and in the API; without
// the flag the export is what import reads back unchanged.

const FILE = [
  'eui,name,labels',
  '0016C001FF300001,=1+2,site=north',
  '0016C001FF300002,+1,',
  '0016C001FF300003,-north,',
  '0016C001FF300004,@SUM(A1),',
  '0016C001FF300005,"\tindented",',
  '0016C001FF300006,plain = fine,',
].join('\n');

const SAFE_NAMES = ["'=1+2", "'+1", "'-north", "'@SUM(A1)", "'\tindented", 'plain = fine'];
const RAW_NAMES = ['=1+2', '+1', '-north', '@SUM(A1)', '"\tindented"', 'plain = fine'];

let server: TestServer;
let key: string;

beforeAll(async () => {
  server = await startTestServer();
  key = server.server.admin.firstAdminKey as string;
  await writeFile(join(server.dir, 'fleet.csv'), FILE);
  const report = await bscupsJson<{ counts: Record<string, number> }>(['station', 'import', join(server.dir, 'fleet.csv')], server.env);
  expect(report.counts).toMatchObject({ create: 6, error: 0 });
});
afterAll(async () => server?.stop());

function names(csv: string): string[] {
  return csv
    .split('\r\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => (l.startsWith('0016C001FF30000') ? l.slice(17).replace(/,[^,]*,,,none$/, '') : l));
}

describe('station export --spreadsheet-safe', () => {
  it('prefixes =, +, -, @ and tab cells with a quote locally, through --server and in the API; off by default', { timeout: 180_000 }, async () => {
    const remote = { BSCUPS_SERVER: server.server.admin.url.replace(/\/api\/v1$/, ''), BSCUPS_API_KEY: key };
    for (const env of [server.env, remote]) {
      const safe = await bscupsInProcess(['station', 'export', '--spreadsheet-safe'], env);
      expect(safe.code, safe.stderr).toBe(0);
      expect(names(safe.stdout)).toEqual(SAFE_NAMES);
      // A label cell starts with its key, so only the name moved.
      expect(safe.stdout).toContain(',site=north,');
    }
    const jsonl = await bscupsInProcess(['station', 'export', '--format', 'jsonl', '--spreadsheet-safe'], server.env);
    expect(jsonl.code).toBe(EXIT_CODE.invalid_argument);
    expect(jsonl.stderr).toMatch(/spreadsheet-safe applies to csv/);
    const call = adminClient(server.server.admin.url.replace(/\/api\/v1$/, ''));
    const api = await call('GET', '/api/v1/stations/export?spreadsheetSafe=true', key);
    expect(api.status).toBe(200);
    expect(names(api.text)).toEqual(SAFE_NAMES);
    expect(names((await call('GET', '/api/v1/stations/export', key)).text)).toEqual(RAW_NAMES);
  });

  it('the default export round-trips; the safe one would not (why it is off by default)', async () => {
    const call = adminClient(server.server.admin.url.replace(/\/api\/v1$/, ''));
    await writeFile(join(server.dir, 'back.csv'), (await call('GET', '/api/v1/stations/export', key)).text);
    const dryRun = async (file: string) => {
      const r = await fetch(`${server.server.admin.url}/stations/import?dryRun=true`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' }, body: await readFile(file) });
      expect(r.status).toBe(200);
      return ((await r.json()) as { counts: Record<string, number> }).counts;
    };
    expect(await dryRun(join(server.dir, 'back.csv'))).toMatchObject({ unchanged: 6, update: 0 });
    await writeFile(join(server.dir, 'safe.csv'), (await call('GET', '/api/v1/stations/export?spreadsheetSafe=1', key)).text);
    expect(await dryRun(join(server.dir, 'safe.csv'))).toMatchObject({ unchanged: 1, update: 5 });
  });
});
