/**
 * Benchmark: a large station import through the admin API (issue 16). The real
 * `bscups serve` runs in a child process on a fresh SQLite registry; a CSV of
 * 20 MB and of 60 MB (every row a new station) is POSTed as a dry run, as the
 * attack sent it, while a worker thread polls one registered station one
 * request after another. Reported: the import's time, the polls answered
 * meanwhile and the worst one, and the server's peak RSS (VmHWM) before and
 * after. Targets: worst poll under 1 s, peak RSS under 1 GB.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importCsv, importUnderLoad, peakRss } from '../test/support/import-load.js';
import { startServeProcess } from '../test/support/serve-process.js';
import type { BenchSettings } from './settings.js';
import { met, num, type Table } from './table.js';

const EUI = '0016C001FFAA0001';
const MB = 1024 * 1024;

export async function runImportLoad(settings: BenchSettings): Promise<Table> {
  const rows: string[][] = [];
  for (const size of settings.quick ? [5] : [20, 60]) {
    const dir = await mkdtemp(join(tmpdir(), 'bscups-bench-import-'));
    const serve = await startServeProcess({ BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') }, ['--allow-unauthenticated', '--admin-port', '0']);
    try {
      const line = JSON.parse(await serve.waitForLine(/"listening"/)) as { admin: string; firstAdminKey: string };
      const created = await fetch(`${line.admin}/stations`, { method: 'POST', headers: { authorization: `Bearer ${line.firstAdminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ eui: EUI }) });
      if (created.status !== 201) throw new Error(`registering the polling station answered ${created.status}`);
      const body = importCsv(size * MB);
      const pid = serve.child.pid as number;
      const before = await peakRss(pid);
      settings.log(`import-load: ${size} MB dry run…`);
      const r = await importUnderLoad({ admin: line.admin, key: line.firstAdminKey, stationPort: Number(new URL(serve.url).port), eui: EUI, body, pid });
      if (r.status !== 200) throw new Error(`the import answered ${r.status}`);
      rows.push([
        `${size} MB CSV, dry run`,
        num(r.rows),
        num(r.importMs / 1000, 1),
        num(r.polls),
        num(r.worstPollMs),
        `${num(before / MB)} → ${num(r.peakRssBytes / MB)}`,
        met(r.worstPollMs < 1000 && r.peakRssBytes < 1024 * MB, r.worstPollMs >= 1000 ? 'a poll waited 1 s or more' : 'RSS reached 1 GB'),
      ]);
    } finally {
      await serve.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    title: 'Large import through the admin API while a station polls',
    columns: ['import', 'rows', 'import s', 'polls meanwhile', 'worst poll ms', 'server peak RSS MB (before → after)', 'target (poll < 1 s, RSS < 1 GB)'],
    rows,
    notes: [
      'bscups serve in a child process (SQLite); the CSV is POSTed as text/csv with dryRun=true; one station polls one request after another from a worker thread until the import has answered.',
      'Peak RSS is the server process\'s VmHWM from /proc: the highest it ever was, the import included.',
    ],
  };
}
