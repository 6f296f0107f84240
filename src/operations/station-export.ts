import { invalid } from '../core/errors.js';
import { parseEui } from '../protocol/index.js';
import type { ProvisionedStation } from '../registry/index.js';
import { authorize, type OperationContext } from './context.js';
import { exportHeader, exportLine, IMPORT_FORMATS, type ImportFormat } from './station-import-format.js';

const PAGE = 1_000;

export function parseExportFormat(value: string | undefined): ImportFormat {
  if (value === undefined) return 'csv';
  if ((IMPORT_FORMATS as readonly string[]).includes(value)) return value as ImportFormat;
  throw invalid('invalid_format', `format must be one of ${IMPORT_FORMATS.join(', ')}, got "${value}"`, { field: 'format' });
}

/**
 * Every registered station in the import format, ordered by EUI, a page of
 * stations at a time: a fleet of any size is written without holding it in
 * memory. `station import` of the output changes nothing.
 */
export function exportStations(ctx: OperationContext, format: ImportFormat): AsyncGenerator<string> {
  // Checked now, not at the first read of the generator: an API answer must not have started by then.
  authorize(ctx, 'viewer', 'exporting stations');
  return exportLines(ctx, format);
}

async function* exportLines(ctx: OperationContext, format: ImportFormat): AsyncGenerator<string> {
  const header = exportHeader(format);
  if (header !== '') yield header;
  let after: string | null = null;
  for (;;) {
    const page = await ctx.fleet.exportStations(after, PAGE);
    if (page.length > 0) yield page.map((s) => exportLine(s, format)).join('');
    if (page.length < PAGE) return;
    after = page.at(-1)?.eui ?? null;
  }
}

/** One page of the export as data, for clients that write the file themselves (the remote CLI). */
export async function exportPage(
  ctx: OperationContext,
  input: { readonly cursor?: string | undefined; readonly limit?: number | undefined },
): Promise<{ items: ProvisionedStation[]; nextCursor: string | null }> {
  authorize(ctx, 'viewer', 'exporting stations');
  const limit = input.limit ?? PAGE;
  // The cursor is the last EUI of the previous page: stations are exported in EUI order.
  const after = input.cursor === undefined ? null : parseEui(input.cursor, 'cursor');
  const items = await ctx.fleet.exportStations(after, limit);
  return { items, nextCursor: items.length === limit ? (items.at(-1)?.eui ?? null) : null };
}
