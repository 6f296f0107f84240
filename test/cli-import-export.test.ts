import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODE } from '../src/cli/exit-codes.js';
import { runCli, spawnCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';

// station import / station export through the real CLI on a SQLite registry (the
// same commands through --server are compared in e2e-local-remote.test.ts).

let dir: string;
let env: Record<string, string>;

interface Report {
  dryRun: boolean;
  complete: boolean;
  counts: Record<string, number>;
  rows: { row: number; line?: number; eui: string | null; action: string; fields?: string[]; errors?: { field: string | null; code: string; message: string }[] }[];
}

const FLEET = [
  'EUI,Name,Labels,CUPS_URI,tc-uri,authMode',
  '0016C001FF200001,"roof, north",site=north;note=a\\;b=c\\\\d,https://cups.example.com:443,wss://lns.example.com:6887,token',
  '0016C001FF200002,"two\r\nlines ""quoted""",,,,',
  '16:c001:ff20:0003,,tier=gold,,wss://lns.example.com:6887,mtls',
].join('\r\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-cli-import-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  await writeFile(join(dir, 'fleet.csv'), FLEET);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function exportText(format: string): Promise<string> {
  const r = await bscupsInProcess(['station', 'export', '--format', format], env);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe('station import and export on the local registry', () => {
  it('imports a CSV; export → import changes nothing, in CSV and JSON lines, and the export is the same bytes after', async () => {
    // --force: FLEET sets auth modes on stations that hold no credential yet (test/auth-mode-credentials.test.ts).
    const first = await bscupsJson<Report>(['station', 'import', join(dir, 'fleet.csv'), '--force'], env);
    expect(first.counts).toMatchObject({ rows: 3, create: 3, error: 0 });
    const csv = await exportText('csv');
    const jsonl = await exportText('jsonl');
    const list = await bscupsJson<unknown[]>(['station', 'list'], env);
    expect(csv.split('\r\n')[1]).toBe('0016C001FF200001,"roof, north",site=north;note=a\\;b=c\\\\d,https://cups.example.com:443,wss://lns.example.com:6887,token');
    for (const [name, text] of [['back.csv', csv], ['back.jsonl', jsonl]] as const) {
      await writeFile(join(dir, name), text);
      const again = await bscupsInProcess(['--json', 'station', 'import', join(dir, name)], env);
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as Report).counts).toEqual({ rows: 3, create: 0, update: 0, unchanged: 3, error: 0, skipped: 0 });
    }
    expect(await exportText('csv')).toBe(csv);
    expect(await exportText('jsonl')).toBe(jsonl);
    // Nothing else about the stations moved either (updatedAt included).
    expect(await bscupsJson<unknown[]>(['station', 'list'], env)).toEqual(list);
  });

  it('reports a bad row with its line and field, applies the good rows, and exits 2', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, ['eui,name,labels,tcUri', '0016C001FF200010,ok,site=a,', '0016C001FF200011,"multi', 'line",,', '0016C001FF200012,bad label,site,', '0016C001FF200013,bad uri,,http://lns'].join('\n'));
    const r = await bscupsInProcess(['--json', 'station', 'import', file], env);
    expect(r.code).toBe(EXIT_CODE.invalid_argument);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.rows.filter((x) => x.action === 'error').map((x) => ({ row: x.row, line: x.line, eui: x.eui, errors: x.errors?.map((e) => [e.field, e.code]) }))).toEqual([
      { row: 3, line: 5, eui: null, errors: [['labels', 'invalid_label']] },
      { row: 4, line: 6, eui: null, errors: [['tcUri', 'invalid_uri']] },
    ]);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'import_rows_rejected', kind: 'invalid_argument', message: expect.stringContaining('row 3, line 5') } });
    const shown = await bscupsJson<{ name: string }>(['station', 'show', '0016C001FF200011'], env);
    expect(shown.name).toBe('multi\nline');

    // The human report: one line per row that is not unchanged, its line, field and reason; then the counts.
    const human = await bscupsInProcess(['station', 'import', file, '--dry-run'], env);
    expect(human.code).toBe(EXIT_CODE.invalid_argument);
    expect(human.stdout).toMatch(/^ROW\s+LINE\s+EUI\s+ACTION\s+DETAIL$/m);
    expect(human.stdout).toMatch(/^3\s+5\s+-\s+error\s+labels: "site" is not key=value.*\(invalid_label\)$/m);
    expect(human.stdout).toMatch(/^4\s+6\s+-\s+error\s+tcUri: .*\(invalid_uri\)$/m);
    expect(human.stdout).toContain('4 rows: 0 would be created, 0 would be updated, 2 unchanged (not listed), 2 with errors (dry run: nothing was changed)');
    expect(human.stderr).toContain('(import_rows_rejected)');
  });

  it('reads the file from stdin with -, a JSON array by its content or by --format', async () => {
    const child = spawnCli(['--json', 'station', 'import', '-'], env);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.end(JSON.stringify([{ eui: '0016C001FF200020', name: 'piped' }], null, 2));
    const [code] = (await once(child, 'close')) as [number];
    expect(code).toBe(0);
    expect((JSON.parse(out) as Report).rows).toEqual([{ row: 1, line: 2, eui: '0016C001FF200020', action: 'create', fields: ['name'] }]);
    const wrong = await runCli(['station', 'import', join(dir, 'fleet.csv'), '--format', 'xml'], env);
    expect(wrong.code).toBe(EXIT_CODE.invalid_argument);
    expect(wrong.stderr).toContain('invalid_format');
  });

  it('export -o writes the whole file or nothing, and leaves no temporary file', async () => {
    const target = join(dir, 'out', 'missing-folder', 'stations.csv');
    const failed = await bscupsInProcess(['--json', 'station', 'export', '-o', target], env);
    expect(failed.code).not.toBe(0);
    const file = join(dir, 'stations.csv');
    await writeFile(file, 'old content\n');
    const r = await bscupsJson<{ file: string; format: string; stations: number; bytes: number }>(['station', 'export', '-o', file], env);
    const text = await readFile(file, 'utf8');
    expect(r).toEqual({ file, format: 'csv', stations: 6, bytes: Buffer.byteLength(text) });
    expect(text).toBe(await exportText('csv'));
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const human = await bscupsInProcess(['station', 'export', '--format', 'jsonl', '-o', file], env);
    expect(human.stdout).toMatch(/^wrote 6 stations to .*stations\.csv \(jsonl, \d+ bytes\)$/m);
  });
});
