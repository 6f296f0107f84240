import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { STATION_AUTH_MODES } from '../../core/station-auth-model.js';
import { EXPORT_FORMATS, IMPORT_FORMATS } from '../../operations/station-import-format.js';
import { StationListQuery } from './schemas.js';
import { DEFAULT_IMPORT_BATCH, MAX_IMPORT_BATCH, type ImportResult as OperationImportResult } from '../../operations/station-import.js';

// Bulk provisioning: POST /stations/import and GET /stations/export (+ its paged JSON form).

/** One station as the import reads it and the export writes it. */
export const StationProvisioning = z
  .object({
    eui: z.string().describe('16 uppercase hex digits'),
    name: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    cupsUri: z.string().nullable(),
    tcUri: z.string().nullable(),
    authMode: z.enum(STATION_AUTH_MODES as unknown as [string, ...string[]]),
  })
  .meta({ id: 'StationProvisioning' });

/** A row of a JSON import body: loose on purpose, the operation reports every problem per row and field. */
export const ImportRow = z
  .record(z.string(), z.unknown())
  .describe('eui (any accepted spelling), name, labels (object), cupsUri, tcUri, authMode; an absent field is left as it is, null clears it')
  .meta({ id: 'StationImportRow' });

export const ImportBody = z
  .union([
    z.array(ImportRow),
    z.string().describe('the file itself: CSV with a header row (labels as k=v;k2=v2), JSON lines or a JSON array; as a text/csv, application/x-ndjson or text/plain body'),
  ])
  .meta({ id: 'StationImportBody' });

const flag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');

export const ImportQuery = z.object({
  dryRun: flag.describe('decide and report every row, change nothing'),
  force: flag.describe('apply an authMode even to a station that holds no credential for it (it will be refused); without it such a row is an error'),
  batchSize: z.coerce.number().int().min(1).max(MAX_IMPORT_BATCH).optional().describe(`rows per transaction, default ${DEFAULT_IMPORT_BATCH}`),
  format: z
    .enum(IMPORT_FORMATS as unknown as [string, ...string[]])
    .optional()
    .describe('of a text body: csv, jsonl or json (an array); default: by content type, else a JSON array when it starts with [, JSON lines when it starts with {, else CSV'),
});

const action = z.enum(['create', 'update', 'unchanged', 'error', 'skipped']);

export const ImportResult = z
  .object({
    dryRun: z.boolean(),
    complete: z.boolean().describe('false when a batch failed (rolled back whole) and later rows were skipped; importing again is safe'),
    counts: z.object({ rows: z.number().int(), create: z.number().int(), update: z.number().int(), unchanged: z.number().int(), error: z.number().int(), skipped: z.number().int() }),
    rows: z.array(
      z.object({
        row: z.number().int().describe('1-based record number, header not counted'),
        line: z.number().int().optional().describe('file line the record starts on'),
        eui: z.string().nullable(),
        action,
        fields: z.array(z.string()).optional().describe('set by a create, changed by an update'),
        errors: z.array(z.object({ field: z.string().nullable(), code: z.string(), message: z.string() })).optional(),
      }),
    ),
  })
  .meta({ id: 'StationImportResult' });

export const ExportQuery = StationListQuery.omit({ sort: true, order: true, limit: true, cursor: true }).extend({
  format: z.enum(EXPORT_FORMATS as unknown as [string, ...string[]]).optional().describe('csv (default) or jsonl'),
  spreadsheetSafe: flag.describe("csv: cells starting with =, +, -, @, tab or CR get a leading ' (shown as text by spreadsheets; import keeps the ', so no round trip)"),
}).describe('the filters of GET /stations select which stations are exported; none: every station');

export const ProvisioningQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('page size, default 1000'),
  cursor: z.string().optional().describe('nextCursor of the previous page'),
});

export const ProvisioningPage = z
  .object({ items: z.array(StationProvisioning), nextCursor: z.string().nullable() })
  .meta({ id: 'StationProvisioningPage' });

/** The operation's result as the JSON ImportResult describes (mutable copies, for the serializer's types). */
export function importResultJson(r: OperationImportResult): z.infer<typeof ImportResult> {
  return {
    dryRun: r.dryRun,
    complete: r.complete,
    counts: { ...r.counts },
    rows: r.rows.map(({ fields, errors, ...row }) => ({
      ...row,
      ...(fields === undefined ? {} : { fields: [...fields] }),
      ...(errors === undefined ? {} : { errors: errors.map((e) => ({ ...e })) }),
    })),
  };
}

/** The ImportResult JSON as text, a slice of rows at a time with a turn of the event loop between slices. */
export async function* importResultText(r: OperationImportResult): AsyncGenerator<string> {
  yield `{"dryRun":${String(r.dryRun)},"complete":${String(r.complete)},"counts":${JSON.stringify(r.counts)},"rows":[`;
  const SLICE = 2_000;
  for (let i = 0; i < r.rows.length; i += SLICE) {
    const rows = r.rows.slice(i, i + SLICE).map(({ row, line, eui, action, fields, errors }) =>
      JSON.stringify({ row, ...(line === undefined ? {} : { line }), eui, action, ...(fields === undefined ? {} : { fields }), ...(errors === undefined ? {} : { errors: errors.map(({ field, code, message }) => ({ field, code, message })) }) }),
    );
    yield `${i === 0 ? '' : ','}${rows.join(',')}`;
    await nextTurn();
  }
  yield ']}';
}
