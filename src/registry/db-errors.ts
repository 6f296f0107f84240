import { CupsError, isCupsError } from '../core/errors.js';

// Recognises driver errors by their stable codes (PostgreSQL SQLSTATE, SQLite
// extended result codes, Node socket errnos) so callers see CupsError kinds.

const SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED',
]);
// 08: connection exception; 57P01-3: server shutting down or starting; 53300: too
// many connections; 3D000: database missing; 28xxx: authentication refused.
const PG_UNAVAILABLE = /^(08...|57P0[123]|53300|3D000|28...)$/;
const PG_CONNECTION_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect)/;
const SQLITE_UNAVAILABLE = /^SQLITE_(CANTOPEN|BUSY|LOCKED|IOERR|READONLY|FULL|PERM)/;
// The file itself is wrong: no retry or running server helps, the operator must look at the file.
const SQLITE_BAD_FILE = /^SQLITE_(NOTADB|CORRUPT)/;

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error and what it wraps: pg and Node nest the interesting part in `cause` or `errors`. */
function* chain(e: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  const stack = [e];
  while (stack.length > 0) {
    const next = stack.pop();
    if (next === undefined || next === null || seen.has(next)) continue;
    seen.add(next);
    yield next;
    if (next instanceof AggregateError) stack.push(...(next.errors as unknown[]));
    if (next instanceof Error) stack.push(next.cause);
  }
}

export function isUniqueViolation(e: unknown): boolean {
  const code = codeOf(e);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function isForeignKeyViolation(e: unknown): boolean {
  const code = codeOf(e);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

function isConnectionFailure(e: unknown): boolean {
  for (const link of chain(e)) {
    const code = codeOf(link);
    if (code !== undefined && (SOCKET_CODES.has(code) || PG_UNAVAILABLE.test(code) || SQLITE_UNAVAILABLE.test(code))) {
      return true;
    }
    if (link instanceof Error && PG_CONNECTION_MESSAGE.test(link.message)) return true;
  }
  return false;
}

function isMissingTable(e: unknown): boolean {
  const code = codeOf(e);
  return code === '42P01' || (code === 'SQLITE_ERROR' && /no such table/i.test((e as Error).message));
}

function describe(e: unknown): string {
  if (e instanceof AggregateError && e.message === '') {
    return e.errors.map((x: unknown) => (x instanceof Error ? x.message : String(x))).join('; ');
  }
  return e instanceof Error ? e.message : String(e);
}

function badSqliteFile(e: unknown, database: string): CupsError | undefined {
  const code = codeOf(e);
  if (code === undefined || !SQLITE_BAD_FILE.test(code)) return undefined;
  const [errorCode, message] = code.startsWith('SQLITE_NOTADB')
    ? ['registry_not_sqlite', `The station registry ${database} is not a SQLite database (${describe(e)}). Check that --database (env BSCUPS_DATABASE) names the registry file; if it does, the file was overwritten: restore it from a backup.`]
    : ['registry_corrupt', `The station registry ${database} is a damaged SQLite database (${describe(e)}). Restore it from a backup; sqlite3's ".recover" may save what is left.`];
  return new CupsError(errorCode, 'unavailable', message, { database }, { cause: e });
}

/**
 * Runs `work` on `db`, turning a driver error into the project's error naming
 * the backend's database: the one error boundary every registry store shares.
 */
export async function runOn<D, T>(backend: { readonly display: string }, db: D, work: (db: D) => Promise<T>): Promise<T> {
  try {
    return await work(db);
  } catch (e) {
    throw translateBackendError(e, backend.display);
  }
}

/** Turns a driver error into the project's error; CupsErrors pass through unchanged. */
export function translateBackendError(e: unknown, database: string): CupsError {
  if (isCupsError(e)) return e;
  const badFile = badSqliteFile(e, database);
  if (badFile !== undefined) return badFile;
  if (isConnectionFailure(e)) {
    return new CupsError(
      'registry_unavailable',
      'unavailable',
      `The station registry at ${database} is unavailable (${describe(e)}). Check that the database is running, reachable and accepts the credentials in the registry URL.`,
      { database },
      { cause: e },
    );
  }
  if (isMissingTable(e)) {
    return new CupsError(
      'registry_not_migrated',
      'unavailable',
      `The station registry at ${database} has no schema yet (${describe(e)}). Run the registry migrations first.`,
      { database },
      { cause: e },
    );
  }
  return new CupsError(
    'registry_failed',
    'internal',
    `The station registry at ${database} failed: ${describe(e)}`,
    { database },
    { cause: e },
  );
}
