import { invalid } from '../core/errors.js';
import { parseEui } from '../protocol/index.js';
import type { ProvisionedStation } from '../registry/index.js';
import { authorize, healthOf, type OperationContext } from './context.js';
import { toStationQuery, type StationListInput } from './station-filters.js';
import { EXPORT_FORMATS, exportHeader, exportLine, type ExportFormat, type ExportLineOptions } from './station-import-format.js';

const PAGE = 1_000;

export function parseExportFormat(value: string | undefined): ExportFormat {
  if (value === undefined) return 'csv';
  if ((EXPORT_FORMATS as readonly string[]).includes(value)) return value as ExportFormat;
  throw invalid('invalid_format', `export format must be one of ${EXPORT_FORMATS.join(', ')}, got "${value}"`, { field: 'format' });
}

/** Export options checked against the format: spreadsheet-safe cells are a CSV matter. */
export function checkExportOptions(format: ExportFormat, options: ExportLineOptions): ExportLineOptions {
  if (options.spreadsheetSafe === true && format !== 'csv') {
    throw invalid('invalid_export_option', `spreadsheet-safe applies to csv exports only, not ${format}`, { field: 'spreadsheetSafe' });
  }
  return options;
}

/**
 * Every registered station in the import format, ordered by EUI, a page of
 * stations at a time: a fleet of any size is written without holding it in
 * memory. `station import` of the output changes nothing.
 */
export function exportStations(ctx: OperationContext, format: ExportFormat, filter: StationListInput = {}, options: ExportLineOptions = {}): AsyncGenerator<string> {
  // Checked now, not at the first read of the generator: an API answer must not have started by then.
  authorize(ctx, 'viewer', 'exporting stations');
  // A bad filter is refused now too, before the answer starts.
  const filtered = hasFilter(filter) ? toStationQuery({ ...filter, sort: 'eui', order: 'asc', limit: PAGE }, ctx.clock(), healthOf(ctx)) : null;
  return exportText(format, filtered === null ? stationPages(ctx) : filteredPages(ctx, filter), checkExportOptions(format, options));
}

/** True when the listing filters select fewer than every station. */
function hasFilter(f: StationListInput): boolean {
  return (f.label?.length ?? 0) > 0 || (f.state?.length ?? 0) > 0 || (f.health?.length ?? 0) > 0 || [f.silent, f.model, f.package, f.version, f.q].some((v) => v !== undefined && v !== '');
}

/** The stations the listing filters match, in EUI order, as provisioning rows (the dashboard's "export this filter"). */
async function* filteredPages(ctx: OperationContext, filter: StationListInput): AsyncGenerator<readonly ProvisionedStation[]> {
  let cursor: string | undefined;
  do {
    const page = await ctx.fleet.queryStations(toStationQuery({ ...filter, sort: 'eui', order: 'asc', limit: PAGE, cursor }, ctx.clock(), healthOf(ctx)));
    const rows = await ctx.fleet.readProvisioned(page.items.map((s) => s.eui));
    rows.sort((a, b) => (a.eui < b.eui ? -1 : a.eui > b.eui ? 1 : 0));
    if (rows.length > 0) yield rows;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/** The export as pieces with their station counts (the CLI's local mode; it checks the role now, as exportStations does). */
export function exportStationChunks(ctx: OperationContext, format: ExportFormat, options: ExportLineOptions = {}): AsyncGenerator<{ text: string; stations: number }> {
  authorize(ctx, 'viewer', 'exporting stations');
  return exportChunks(format, stationPages(ctx), checkExportOptions(format, options));
}

async function* stationPages(ctx: OperationContext): AsyncGenerator<readonly ProvisionedStation[]> {
  let after: string | null = null;
  for (;;) {
    const page = await ctx.fleet.exportStations(after, PAGE);
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
    after = page.at(-1)?.eui ?? null;
  }
}

/**
 * The export file from pages of stations in EUI order, a page's lines at a
 * time: the header (CSV), then one line per station. The remote CLI writes the
 * file from the API's JSON pages with this, so both modes write the same bytes.
 */
export async function* exportText(format: ExportFormat, pages: AsyncIterable<readonly ProvisionedStation[]>, options: ExportLineOptions = {}): AsyncGenerator<string> {
  for await (const chunk of exportChunks(format, pages, options)) yield chunk.text;
}

/** exportText with the number of stations in each piece (the header holds none). */
export async function* exportChunks(
  format: ExportFormat,
  pages: AsyncIterable<readonly ProvisionedStation[]>,
  options: ExportLineOptions = {},
): AsyncGenerator<{ text: string; stations: number }> {
  const header = exportHeader(format);
  if (header !== '') yield { text: header, stations: 0 };
  for await (const page of pages) if (page.length > 0) yield { text: page.map((s) => exportLine(s, format, options)).join(''), stations: page.length };
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
