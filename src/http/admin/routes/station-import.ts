import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseExportFormat, exportPage, exportStations } from '../../../operations/station-export.js';
import { readFile } from 'node:fs/promises';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { invalid } from '../../../core/errors.js';
import { textSource, type ImportSource } from '../../../operations/import-stream.js';
import { importStations } from '../../../operations/station-import.js';
import type { ImportFormat } from '../../../operations/station-import-format.js';
import { firstNonBlank, spooledBytes, spoolBodies, type SpooledBody } from '../import-spool.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { ExportQuery, ImportBody, ImportQuery, ImportResult, importResultText, ProvisioningPage, ProvisioningQuery } from '../import-schemas.js';

/** An import file of 100,000 stations is about 12 MB of CSV; the API's default body limit is 1 MB. */
const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

/** Text bodies taken as the file itself, with the format their type names (text/plain: by ?format= or the content). */
const TEXT_TYPES: Readonly<Record<string, ImportFormat | undefined>> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/json-lines': 'jsonl',
  'text/plain': undefined,
};

const CONTENT_TYPE = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8' } as const;

/** Bulk provisioning: import (CSV, JSON lines or a JSON array of rows) and export, thin over operations/station-import.ts. */
export function registerStationImportRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['stations'];
  // Its own scope: only this route spools its body (JSON included) to disk instead of parsing it.
  void app.register(async (scope) => {
    spoolBodies(scope, Object.keys(TEXT_TYPES), IMPORT_BODY_LIMIT);
    scope.withTypeProvider<ZodTypeProvider>().post('/stations/import', {
      bodyLimit: IMPORT_BODY_LIMIT,
      // The body is a spooled file the import reads as a stream; ImportBody documents it.
      validatorCompiler: (route) => (route.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0])),
      schema: {
        tags,
        summary: 'Register or update many stations: every row validated first, one transaction per batch, a report per row; idempotent; dryRun changes nothing. Read as a stream, a batch at a time',
        consumes: ['application/json', ...Object.keys(TEXT_TYPES)],
        querystring: ImportQuery,
        body: ImportBody,
        response: { 200: ImportResult, ...errorResponses },
      },
    }, async (req, reply) => {
      const body = req.body as unknown as SpooledBody;
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const named = (req.query.format as ImportFormat | undefined) ?? TEXT_TYPES[type];
      let source: ImportSource = { open: spooledBytes(body), format: named };
      if (type === 'application/json') {
        // A JSON body is an array of rows, or (as clients before streaming sent it) a JSON string holding the file.
        const first = await firstNonBlank(body);
        if (first === '"') source = textSource(await legacyText(body), { format: req.query.format as ImportFormat | undefined });
        else source = { open: spooledBytes(body), format: 'json' };
      }
      const result = await importStations(contextOf(req, deps), source, {
        dryRun: req.query.dryRun,
        force: req.query.force,
        ...(req.query.batchSize === undefined ? {} : { batchSize: req.query.batchSize }),
      });
      // Written a slice of rows at a time, yielding between slices: a report of 500,000 rows does not hold up polls.
      return reply.type('application/json; charset=utf-8').send(Readable.from(importResultText(result)) as never);
    });
  });

  api.get('/stations/export', {
    schema: {
      tags,
      summary: 'Every station, or those the listing filters match, as an import file (CSV with a header row, or JSON lines), streamed in EUI order; importing it back changes nothing',
      produces: [CONTENT_TYPE.csv, CONTENT_TYPE.jsonl],
      querystring: ExportQuery,
      response: { 200: z.string().describe('the file: CSV with a header row, or JSON lines'), ...errorResponses },
    },
  }, async (req, reply) => {
    const { format: formatName, spreadsheetSafe, ...filter } = req.query;
    const format = parseExportFormat(formatName);
    const lines = exportStations(contextOf(req, deps), format, filter, { spreadsheetSafe });
    // The first page is read before answering: a registry that cannot be read is an error answer, not a cut-off file.
    const head: string[] = [];
    for (let i = 0; i < 2; i++) {
      const next = await lines.next();
      if (next.done === true) break;
      head.push(next.value);
    }
    async function* all(): AsyncGenerator<string> {
      yield* head;
      yield* lines;
    }
    return reply.type(CONTENT_TYPE[format]).header('content-disposition', `attachment; filename="stations.${format}"`).send(Readable.from(all()) as unknown as string); // a stream is piped as is, never serialized
  });

  api.get('/stations/export/page', {
    schema: { tags, summary: 'The export as JSON, a page at a time (what the remote CLI writes the file from)', querystring: ProvisioningQuery, response: { 200: ProvisioningPage, ...errorResponses } },
  }, async (req) => {
    const page = await exportPage(contextOf(req, deps), req.query);
    return { items: page.items.map((s) => ({ ...s, labels: { ...s.labels } })), nextCursor: page.nextCursor };
  });
}

/** The file inside a JSON string body (the form clients sent before imports streamed): read whole, as it always was. */
async function legacyText(body: SpooledBody): Promise<string> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(body.path, 'utf8'));
  } catch (e) {
    throw invalid('import_malformed_json', `the JSON body does not parse (${(e as Error).message}); send an array of rows, or the file itself as text/csv or application/x-ndjson`);
  }
  if (typeof value !== 'string') throw invalid('import_malformed_json', 'a JSON body is an array of rows or a string holding the file');
  return value;
}
