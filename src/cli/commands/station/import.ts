import type { Command } from 'commander';
import { CupsError, invalid } from '../../../core/errors.js';
import { checkBatchSize, DEFAULT_IMPORT_BATCH, MAX_IMPORT_BATCH } from '../../../operations/station-import.js';
import { IMPORT_FORMATS } from '../../../operations/station-import-format.js';
import type { OperatorActions } from '../../actions.js';
import type { Output } from '../../output.js';
import { readableFileArg } from '../../read-file-arg.js';
import { runActions } from '../../run-actions.js';

type ImportReport = Awaited<ReturnType<OperatorActions['importStations']>>;

export function register(parent: Command): void {
  parent
    .command('import')
    .description(
      'register or update many stations from a file: CSV with a header row (eui,name,labels,cupsUri,tcUri,authMode; labels as k=v;k2=v2), ' +
        'JSON lines or a JSON array. Every row is checked first, each batch is one transaction, a bad row never half-applies; ' +
        'a report per row, and exit code 2 when any row was not imported. Importing the same file again changes nothing',
    )
    .argument('<file>', 'the file, or - for stdin')
    .option('--format <format>', `${IMPORT_FORMATS.join(', ')} (default: by the file name, else by the content)`)
    .option('--dry-run', 'report what each row would change, change nothing')
    .option('--force', 'apply an authMode even to a station that holds no credential for it (it would be refused at its next call); without it such a row is an error')
    .option('--batch-size <n>', `rows per transaction (1..${MAX_IMPORT_BATCH}, default ${DEFAULT_IMPORT_BATCH})`, (v) => Number(v))
    .action(async (path: string, opts: { format?: string; dryRun?: boolean; batchSize?: number; force?: boolean }, cmd: Command) => {
      if (opts.batchSize !== undefined) checkBatchSize(opts.batchSize);
      // A file is read as a stream (checked readable first); stdin is read whole.
      const input = path === '-' ? { text: await readStdin() } : { path: await readableFileArg(path, '<file>') };
      await runActions(cmd, async (actions, out) => {
        const report = await actions.importStations({
          ...input,
          ...(opts.format === undefined ? {} : { format: opts.format }),
          ...(path === '-' ? {} : { fileName: path }),
          dryRun: opts.dryRun === true,
          ...(opts.force === true ? { force: true } : {}),
          ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
        });
        out.result(report, () => printReport(out, report));
        refuseIncomplete(report);
      });
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every row that is not unchanged, with what it does or why it cannot; then the counts. */
function printReport(out: Output, report: ImportReport): void {
  const { counts } = report;
  const listed = report.rows.filter((r) => r.action !== 'unchanged');
  if (listed.length > 0) {
    out.table(
      listed.map((r) => ({
        row: r.row,
        line: r.line,
        eui: r.eui,
        action: r.action,
        detail: r.errors !== undefined ? r.errors.map((e) => `${e.field === null ? '' : `${e.field}: `}${e.message} (${e.code})`).join('; ') : (r.fields ?? []).join(', '),
      })),
      ['row', 'line', 'eui', 'action', 'detail'],
    );
  }
  const verb = report.dryRun ? 'would be ' : '';
  out.line(
    `${counts.rows} rows: ${counts.create} ${verb}created, ${counts.update} ${verb}updated, ${counts.unchanged} unchanged${counts.unchanged > 0 && listed.length > 0 ? ' (not listed)' : ''}, ` +
      `${counts.error} with errors${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}${report.dryRun ? ' (dry run: nothing was changed)' : ''}`,
  );
}

/** After the report: a non-zero exit when a row was not imported, so a script notices. */
function refuseIncomplete(report: ImportReport): void {
  const { counts } = report;
  if (!report.complete) {
    throw new CupsError(
      'import_incomplete',
      'unavailable',
      `a batch failed and was rolled back: ${counts.error} rows not applied, ${counts.skipped} not attempted; import the same file again to finish (rows already applied come out unchanged)`,
    );
  }
  if (counts.error > 0) {
    const first = report.rows.find((r) => r.action === 'error');
    const where = first === undefined ? '' : ` (the first is row ${first.row}${first.line === undefined ? '' : `, line ${first.line}`})`;
    throw invalid('import_rows_rejected', `${counts.error} of ${counts.rows} rows have errors and were not imported${where}; the other rows were ${report.dryRun ? 'checked' : 'applied'}`);
  }
}
