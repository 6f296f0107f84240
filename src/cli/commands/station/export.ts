import { open, rename, rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { EXPORT_FORMATS } from '../../../operations/station-import-format.js';
import type { ExportChunk } from '../../actions.js';
import { runActions } from '../../run-actions.js';

export function register(parent: Command): void {
  parent
    .command('export')
    .description('write every station as an import file (its name, labels, URIs and auth mode; no credentials), in EUI order; "station import" of it changes nothing')
    .option('--format <format>', `${EXPORT_FORMATS.join(' or ')} (default csv)`)
    .option(
      '--spreadsheet-safe',
      "csv: start cells that begin with =, +, -, @, tab or CR with ' so a spreadsheet shows them as text, not formulas. Off by default: import reads the ' as part of the value, so such a file does not round-trip",
    )
    .option('-o, --output <file>', 'write to this file (whole or not at all: written aside, then renamed); default stdout')
    .action(async (opts: { format?: string; output?: string; spreadsheetSafe?: boolean }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const chunks = actions.exportStations(opts.format, { spreadsheetSafe: opts.spreadsheetSafe === true });
        if (opts.output === undefined) {
          await writeStdout(chunks);
          return;
        }
        const written = await writeFileAtomic(opts.output, chunks);
        const format = opts.format ?? 'csv';
        out.result({ file: opts.output, format, ...written }, () => out.line(`wrote ${written.stations} stations to ${opts.output} (${format}, ${written.bytes} bytes)`));
      });
    });
}

/** The export on stdout as it comes, at the pace the reader takes it; a reader that closes early ends it. */
async function writeStdout(chunks: AsyncIterable<ExportChunk>): Promise<void> {
  const stdout = process.stdout;
  for await (const { text } of chunks) {
    if (stdout.destroyed) return;
    if (!stdout.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          stdout.off('drain', done);
          stdout.off('close', done);
          stdout.off('error', done);
          resolve();
        };
        stdout.on('drain', done);
        stdout.on('close', done);
        stdout.on('error', done);
      });
    }
  }
}

/** Writes beside `path`, syncs and renames: the file is the whole export or is left as it was. */
async function writeFileAtomic(path: string, chunks: AsyncIterable<ExportChunk>): Promise<{ stations: number; bytes: number }> {
  const temp = `${path}.tmp-${process.pid}`;
  const file = await open(temp, 'wx', 0o644);
  let stations = 0;
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      const data = Buffer.from(chunk.text, 'utf8');
      await file.write(data);
      stations += chunk.stations;
      bytes += data.length;
    }
    await file.sync();
    await file.close();
    await rename(temp, path);
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw e;
  }
  return { stations, bytes };
}
