import { invalid, isCupsError } from '../core/errors.js';
import type { NewEvent } from '../core/model.js';
import { STATION_AUTH_MODES, type StationAuthMode } from '../core/station-auth-model.js';
import { parseEui, validateCupsUri, validateTcUri } from '../protocol/index.js';
import type { ProvisionedStation, ProvisioningUpdate, ProvisioningWrite } from '../registry/index.js';
import { modeLockOut } from './auth-mode.js';
import { audited, auditOutsideRegistry, authorize, type OperationContext } from './context.js';
import { validateLabelKey, validateLabelValue } from './station-filters.js';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { streamImportRows, type ImportSource } from './import-stream.js';
import { IMPORT_FIELDS, type RowProblem, type SourceRow } from './station-import-format.js';

/**
 * Bulk provisioning: register or update many stations from rows (a file or an
 * API body). Every row is validated before anything is written, so a bad row
 * never half-applies and never stops the good rows of its batch. Each batch is
 * one transaction that reads its stations as they are and writes only what
 * differs, so importing the same rows again changes nothing and says so.
 *
 * If a batch's transaction itself fails (the database went away, a concurrent
 * change it could not get past), that batch is rolled back whole, the batches
 * before it stay applied, the rest are not attempted (`skipped`) and the result
 * says `complete: false`. Importing the same rows again is safe and finishes
 * the job: the applied rows come out `unchanged`.
 */

export const DEFAULT_IMPORT_BATCH = 500;
export const MAX_IMPORT_BATCH = 5_000;
const MAX_NAME = 200;

export type RowAction = 'create' | 'update' | 'unchanged' | 'error' | 'skipped';

/** What happened (or, in a dry run, would happen) to one row. */
export interface ImportRowResult {
  readonly row: number;
  readonly line?: number;
  /** The EUI in canonical form, or null when it did not parse. */
  readonly eui: string | null;
  readonly action: RowAction;
  /** Fields a create sets or an update changes. */
  readonly fields?: readonly string[];
  readonly errors?: readonly RowProblem[];
}

export interface ImportResult {
  readonly dryRun: boolean;
  /** False when a batch failed and later rows were not attempted. */
  readonly complete: boolean;
  readonly counts: Readonly<Record<RowAction, number>> & { readonly rows: number };
  readonly rows: readonly ImportRowResult[];
}

export interface ImportOptions {
  readonly dryRun?: boolean;
  readonly batchSize?: number;
  /** Apply an authMode even to a station that holds no credential for it (it will be refused at its next call). */
  readonly force?: boolean;
}

/** A row that passed validation: the fields it sets (absent: left as they are). */
interface ValidRow extends Omit<ProvisioningUpdate, 'eui'> {
  readonly source: SourceRow;
  readonly eui: string;
}

function problem(e: unknown, field: string): RowProblem {
  if (isCupsError(e)) return { field: typeof e.details?.['field'] === 'string' ? e.details['field'] : field, code: e.code, message: e.message };
  throw e;
}

function nullableString(value: unknown, field: string): string | null {
  if (value === null || typeof value === 'string') return value;
  throw invalid(`invalid_${field}`, `${field} must be a string or null`, { field });
}

/** Checks one row with the rules `station add` and `station set` use; all of its problems, not only the first. */
function validateRow(source: SourceRow): ValidRow | RowProblem[] {
  const problems: RowProblem[] = [...source.problems];
  const { fields } = source;
  for (const key of Object.keys(fields)) {
    if (!(IMPORT_FIELDS as readonly string[]).includes(key)) {
      problems.push({ field: key, code: 'unknown_field', message: `unknown field "${key}"; fields are ${IMPORT_FIELDS.join(', ')}` });
    }
  }
  const attempt = <T>(field: string, check: () => T): T | undefined => {
    if (fields[field] === undefined) return undefined;
    try {
      return check();
    } catch (e) {
      problems.push(problem(e, field));
      return undefined;
    }
  };
  let eui: string | undefined;
  if (fields['eui'] === undefined || fields['eui'] === null || fields['eui'] === '') {
    if (problems.every((p) => p.field !== null)) problems.push({ field: 'eui', code: 'missing_eui', message: 'every row needs an eui' });
  } else eui = attempt('eui', () => parseEui(fields['eui'], 'eui'));
  const name = attempt('name', () => {
    const v = nullableString(fields['name'], 'name');
    if (v !== null && v.length > MAX_NAME) throw invalid('invalid_name', `name must be at most ${MAX_NAME} characters`, { field: 'name' });
    return v === '' ? null : v;
  });
  const labels = attempt('labels', () => {
    const v = fields['labels'] ?? {};
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid('invalid_label', 'labels must be an object of strings', { field: 'labels' });
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(v as Record<string, unknown>)) {
      if (typeof value !== 'string') throw invalid('invalid_label', `label "${key}" must be a string`, { field: 'labels' });
      out[validateLabelKey(key)] = validateLabelValue(key, value);
    }
    return out;
  });
  const cupsUri = attempt('cupsUri', () => {
    const v = nullableString(fields['cupsUri'], 'cupsUri');
    return v === null ? null : validateCupsUri(v, 'cupsUri');
  });
  const tcUri = attempt('tcUri', () => {
    const v = nullableString(fields['tcUri'], 'tcUri');
    return v === null ? null : validateTcUri(v, 'tcUri');
  });
  const authMode = attempt('authMode', () => {
    const v = fields['authMode'];
    if (v === null) return undefined;
    if (typeof v !== 'string' || !(STATION_AUTH_MODES as readonly string[]).includes(v)) {
      throw invalid('invalid_auth_mode', `authMode must be one of ${STATION_AUTH_MODES.join(', ')}`, { field: 'authMode' });
    }
    return v as StationAuthMode;
  });
  if (problems.length > 0 || eui === undefined) return problems;
  return {
    source,
    eui,
    ...(name === undefined ? {} : { name }),
    ...(labels === undefined ? {} : { labels }),
    ...(cupsUri === undefined ? {} : { cupsUri }),
    ...(tcUri === undefined ? {} : { tcUri }),
    ...(authMode === undefined ? {} : { authMode }),
  };
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

interface Planned {
  readonly results: ImportRowResult[];
  readonly write: ProvisioningWrite;
}

/** Where a row's report points: its record number, and its line when it came from a file. */
function rowRef(source: SourceRow): { row: number; line?: number } {
  return source.line === undefined ? { row: source.row } : { row: source.row, line: source.line };
}

/** Decides each row against its station as stored; pure, so a dry run and the transaction decide alike. */
function planBatch(rows: readonly ValidRow[], current: ReadonlyMap<string, ProvisionedStation>, force = false): Planned {
  const results: ImportRowResult[] = [];
  const creates: ProvisionedStation[] = [];
  const updates: ProvisioningUpdate[] = [];
  const events: { eui: string; event: NewEvent }[] = [];
  for (const r of rows) {
    const base = { ...rowRef(r.source), eui: r.eui };
    const now = current.get(r.eui);
    // The rule `station auth --mode` follows: never a mode the station has no credential for, unless forced.
    const lockOut = force || r.authMode === undefined || r.authMode === (now?.authMode ?? 'none') ? null : modeLockOut(r.eui, r.authMode, now?.cupsCredentials ?? { certificate: false, token: false });
    if (lockOut !== null) {
      results.push({ ...base, action: 'error', errors: [{ field: 'authMode', code: 'no_credential_for_mode', message: lockOut }] });
      continue;
    }
    if (now === undefined) {
      const station = { eui: r.eui, name: r.name ?? null, labels: r.labels ?? {}, cupsUri: r.cupsUri ?? null, tcUri: r.tcUri ?? null, authMode: r.authMode ?? 'none' };
      creates.push(station);
      events.push({ eui: r.eui, event: { type: 'config', message: 'station registered (import)' } });
      const fields = (['name', 'labels', 'cupsUri', 'tcUri', 'authMode'] as const).filter((f) => r[f] !== undefined);
      results.push({ ...base, action: 'create', fields });
      continue;
    }
    const change: { -readonly [K in keyof ProvisioningUpdate]: ProvisioningUpdate[K] } = { eui: r.eui };
    if (r.name !== undefined && r.name !== now.name) change.name = r.name;
    if (r.labels !== undefined && !sameLabels(r.labels, now.labels)) change.labels = r.labels;
    if (r.cupsUri !== undefined && r.cupsUri !== now.cupsUri) change.cupsUri = r.cupsUri;
    if (r.tcUri !== undefined && r.tcUri !== now.tcUri) change.tcUri = r.tcUri;
    if (r.authMode !== undefined && r.authMode !== now.authMode) change.authMode = r.authMode;
    const fields = Object.keys(change).filter((k) => k !== 'eui');
    if (fields.length === 0) {
      results.push({ ...base, action: 'unchanged' });
      continue;
    }
    updates.push(change);
    // The same history a single `station set` / `station auth --mode` writes.
    const desired = (['cupsUri', 'tcUri'] as const).filter((f) => change[f] !== undefined).map((f) => `${f}=${String(change[f])}`);
    if (desired.length > 0) events.push({ eui: r.eui, event: { type: 'config', message: `desired ${desired.join(', ')} (import)` } });
    if (change.authMode !== undefined) events.push({ eui: r.eui, event: { type: 'config', message: `auth mode set to ${change.authMode} (was ${now.authMode}) (import)` } });
    results.push({ ...base, action: 'update', fields });
  }
  return { results, write: { creates, updates, events } };
}

function countOf(rows: readonly ImportRowResult[]): ImportResult['counts'] {
  const counts = { rows: rows.length, create: 0, update: 0, unchanged: 0, error: 0, skipped: 0 };
  for (const r of rows) counts[r.action]++;
  return counts;
}

/** Rows per transaction: an integer from 1 to MAX_IMPORT_BATCH. */
export function checkBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_IMPORT_BATCH) {
    throw invalid('invalid_batch_size', `batch size must be an integer from 1 to ${MAX_IMPORT_BATCH}, got ${String(batchSize)}`, { field: 'batchSize' });
  }
  return batchSize;
}

/** Rows checked (or planned) between two turns of the event loop: an import of any size never holds up station polls for long. */
const ROWS_PER_TURN = 256;

function rowsOf(input: ImportSource | readonly SourceRow[]): AsyncIterable<SourceRow> | readonly SourceRow[] {
  return Array.isArray(input) ? input : streamImportRows(input as ImportSource);
}

/**
 * Imports rows (from an API body already parsed) or a file read as a stream, twice:
 * first every row is checked (and the file's own structure, so a file cut short
 * changes nothing), then the batches are written. Neither pass holds more than a
 * batch of rows; only the per-row report grows with the file.
 */
export async function importStations(ctx: OperationContext, input: ImportSource | readonly SourceRow[], options: ImportOptions = {}): Promise<ImportResult> {
  authorize(ctx, 'operator', 'importing stations');
  const dryRun = options.dryRun === true;
  const batchSize = checkBatchSize(options.batchSize ?? DEFAULT_IMPORT_BATCH);
  const refused = new Map<number, ImportRowResult>();
  const firstRowOf = new Map<string, number>();
  let turn = 0;
  const breathe = async () => {
    if (++turn % ROWS_PER_TURN === 0) await yieldTurn();
  };
  for await (const source of rowsOf(input)) {
    const checked = validateRow(source);
    const base = rowRef(source);
    if (Array.isArray(checked)) refused.set(source.row, { ...base, eui: null, action: 'error', errors: checked });
    else {
      // One station, one row: which of two rows should win is the operator's call, not ours.
      const first = firstRowOf.get(checked.eui);
      if (first !== undefined) {
        const message = `station ${checked.eui} is also in row ${first}; give each station one row`;
        refused.set(source.row, { ...base, eui: checked.eui, action: 'error', errors: [{ field: 'eui', code: 'duplicate_eui', message }] });
      } else firstRowOf.set(checked.eui, source.row);
    }
    await breathe();
  }
  firstRowOf.clear();

  const out: ImportRowResult[] = [];
  let failed = false;
  let batch: ValidRow[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    const euis = rows.map((r) => r.eui);
    if (failed) {
      for (const r of rows) out[r.source.row - 1] = { ...rowRef(r.source), eui: r.eui, action: 'skipped' };
      return;
    }
    try {
      const planned = dryRun
        ? planBatch(rows, new Map((await ctx.fleet.readProvisioned(euis, { credentials: true })).map((s) => [s.eui, s])), options.force === true)
        : await ctx.fleet.provisionStations(euis, (current) => {
            const p = planBatch(rows, current, options.force === true);
            return { write: p.write, result: p };
          }, ctx.clock(), (p) => batchAudit(ctx, p.results));
      for (const r of planned.results) out[r.row - 1] = r;
    } catch (e) {
      if (!isCupsError(e)) throw e;
      failed = true;
      const first = rows[0]?.source.row;
      const last = rows.at(-1)?.source.row;
      const message = `the batch of rows ${String(first)} to ${String(last)} was rolled back, nothing in it applied: ${e.message}. Earlier batches are applied; import the same rows again once this is fixed (applied rows come out unchanged).`;
      for (const r of rows) out[r.source.row - 1] = { ...rowRef(r.source), eui: r.eui, action: 'error', errors: [{ field: null, code: e.code, message }] };
    }
    await yieldTurn();
  };
  for await (const source of rowsOf(input)) {
    const refusal = refused.get(source.row);
    if (refusal !== undefined) out[source.row - 1] = refusal;
    else {
      batch.push(validateRow(source) as ValidRow);
      if (batch.length >= batchSize) await flush();
    }
    await breathe();
  }
  await flush();

  const rows = out;
  const result: ImportResult = { dryRun, complete: !failed, counts: countOf(rows), rows };
  const { create, update, unchanged, error, skipped } = result.counts;
  // Once per import, applied or not: who ran which import, with what outcome. The changes themselves
  // are each recorded by their batch's row (station.import_batch), in the batch's transaction;
  // this summary changes nothing, so it has a transaction of its own. A dry run changes nothing.
  if (!dryRun) {
    await auditOutsideRegistry(ctx, 'station.import', null, { rows: rows.length, created: create, updated: update, unchanged, errors: error, skipped, complete: !failed, batchSize, ...(options.force === true ? { force: true } : {}) });
  }
  return result;
}

/** The row of one applied batch, written in its transaction: which stations it created and changed. */
function batchAudit(ctx: OperationContext, rows: readonly ImportRowResult[]) {
  const euis = (action: ImportRowResult['action']) => rows.filter((r) => r.action === action).map((r) => r.eui);
  const created = euis('create');
  const updated = euis('update');
  if (created.length === 0 && updated.length === 0) return null;
  return audited(ctx, 'station.import_batch', null, { rows: [rows[0]?.row ?? null, rows.at(-1)?.row ?? null], created, updated });
}
