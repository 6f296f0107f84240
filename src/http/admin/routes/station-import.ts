import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseExportFormat, exportPage, exportStations } from '../../../operations/station-export.js';
import { importStations } from '../../../operations/station-import.js';
import { readImportFile, type ImportFormat, type SourceRow } from '../../../operations/station-import-format.js';
import type { AdminDeps } from '../app.js';
import { contextOf } from '../auth.js';
import { errorResponses } from '../responses.js';
import { ExportQuery, ImportBody, ImportQuery, ImportResult, importResultJson, ProvisioningPage, ProvisioningQuery } from '../import-schemas.js';

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
  api.addContentTypeParser(Object.keys(TEXT_TYPES), { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));

  api.post('/stations/import', {
    bodyLimit: IMPORT_BODY_LIMIT,
    schema: {
      tags,
      summary: 'Register or update many stations (operator): every row validated first, one transaction per batch, a report per row; idempotent; dryRun changes nothing',
      consumes: ['application/json', ...Object.keys(TEXT_TYPES)],
      querystring: ImportQuery,
      body: ImportBody,
      response: { 200: ImportResult, ...errorResponses },
    },
  }, async (req) => {
    let rows: SourceRow[];
    if (Array.isArray(req.body)) {
      rows = req.body.map((fields, i) => ({ row: i + 1, fields, problems: [] }));
    } else {
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      rows = readImportFile(req.body, { format: (req.query.format as ImportFormat | undefined) ?? TEXT_TYPES[type] });
    }
    const result = await importStations(contextOf(req, deps), rows, {
      dryRun: req.query.dryRun,
      ...(req.query.batchSize === undefined ? {} : { batchSize: req.query.batchSize }),
    });
    return importResultJson(result);
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
    const { format: formatName, ...filter } = req.query;
    const format = parseExportFormat(formatName);
    const lines = exportStations(contextOf(req, deps), format, filter);
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
