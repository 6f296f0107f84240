import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalid } from '../core/errors.js';

/** Where the registry lives, parsed once from the URL the operator configured. */
export type RegistryLocation =
  | {
      readonly kind: 'sqlite';
      /** Absolute file path, or `:memory:`. */
      readonly path: string;
      /** How to name the database in messages. */
      readonly display: string;
    }
  | {
      readonly kind: 'postgres';
      /** Connection string handed to pg, without the options only this module understands. */
      readonly connectionString: string;
      /** Schema selected with `?schema=`, or null for the server's default search path. */
      readonly schema: string | null;
      readonly connectTimeoutMillis: number;
      /** The URL without its password, for messages and logs. */
      readonly display: string;
    };

const ACCEPTED_FORMS =
  'Use postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&connect_timeout=SECONDS] (or postgresql://), ' +
  'or a SQLite location: sqlite:PATH, file:PATH, a plain file path, or :memory:';

const DEFAULT_CONNECT_TIMEOUT_MILLIS = 5_000;
// Unquoted PostgreSQL identifiers are folded to lower case, so only names that survive
// that folding unchanged can be used both in `CREATE SCHEMA` and in `search_path`.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Parses a registry URL; throws invalid_argument `invalid_registry_url` naming the accepted forms. */
export function parseRegistryUrl(url: string): RegistryLocation {
  const text = url.trim();
  if (text === '') throw bad(url, 'the registry URL is empty');
  if (/^postgres(ql)?:\/\//i.test(text)) return parsePostgres(text);
  if (text === ':memory:' || /^sqlite:(\/\/)?:memory:$/i.test(text)) {
    return { kind: 'sqlite', path: ':memory:', display: 'SQLite :memory:' };
  }
  let path: string;
  if (/^sqlite:/i.test(text)) {
    // sqlite:///abs/path and sqlite:rel/path both name a file path after the scheme.
    path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '').replace(/^\/\/(?!\/)/, '');
  } else if (/^file:/i.test(text)) {
    path = text.startsWith('file://') ? fileUrlPath(text, url) : text.slice('file:'.length);
  } else if (/^[a-z][a-z0-9+.-]+:/i.test(text)) {
    throw bad(url, `the scheme "${text.slice(0, text.indexOf(':'))}:" is not supported`);
  } else {
    path = text;
  }
  if (path === '') throw bad(url, 'the SQLite path is empty');
  const absolute = isAbsolute(path) ? path : resolve(path);
  return { kind: 'sqlite', path: absolute, display: `SQLite ${absolute}` };
}

function fileUrlPath(text: string, original: string): string {
  try {
    return fileURLToPath(text);
  } catch (e) {
    throw bad(original, `it is not a valid file URL (${(e as Error).message})`);
  }
}

function parsePostgres(text: string): RegistryLocation {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw bad(redactRaw(text), 'it is not a valid URL');
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
    throw bad(redact(parsed), 'the PostgreSQL URL names no host');
  }
  const schema = parsed.searchParams.get('schema');
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw bad(
      redact(parsed),
      `the schema "${schema}" is not usable: use lower-case letters, digits and underscores, starting with a letter or underscore, at most 63 characters`,
    );
  }
  let connectTimeoutMillis = DEFAULT_CONNECT_TIMEOUT_MILLIS;
  const timeout = parsed.searchParams.get('connect_timeout');
  if (timeout !== null) {
    const seconds = Number(timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw bad(redact(parsed), `connect_timeout must be a positive number of seconds, got "${timeout}"`);
    }
    connectTimeoutMillis = Math.round(seconds * 1000);
  }
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('connect_timeout');
  const display = redact(parsed) + (schema === null ? '' : ` (schema ${schema})`);
  return { kind: 'postgres', connectionString: parsed.toString(), schema, connectTimeoutMillis, display };
}

function redact(url: URL): string {
  const copy = new URL(url.toString());
  if (copy.password !== '') copy.password = '***';
  return copy.toString();
}

function redactRaw(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

function bad(url: string, reason: string) {
  const shown = /^postgres/i.test(url) ? redactRaw(url) : url;
  return invalid('invalid_registry_url', `Cannot use registry URL "${shown}": ${reason}. ${ACCEPTED_FORMS}.`, {
    field: 'registry URL',
  });
}
