import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server tests use; CUPS_TEST_POSTGRES_URL overrides it. */
export const TEST_POSTGRES_URL = process.env['CUPS_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own for one test run, dropped by `drop()`. */
export interface TestSchema {
  readonly schema: string;
  /** TEST_POSTGRES_URL with `?schema=` set. */
  readonly url: string;
  /** DROP SCHEMA … CASCADE; harmless when it was never created. */
  drop(): Promise<void>;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether the test server accepts a connection and answers a query. */
export async function postgresAvailable(url: string = TEST_POSTGRES_URL): Promise<boolean> {
  try {
    await withClient(url, (c) => c.query('select 1'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Names a fresh schema `t_<pid>_<random>` and, unless `create` is false (to test
 * that the registry creates it), creates it.
 */
export async function createTestSchema(options: { readonly create?: boolean } = {}): Promise<TestSchema> {
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (options.create !== false) await withClient(TEST_POSTGRES_URL, (c) => c.query(`create schema ${schema}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('schema', schema);
  return {
    schema,
    url: url.toString(),
    drop: () => withClient(TEST_POSTGRES_URL, (c) => c.query(`drop schema if exists ${schema} cascade`)).then(() => undefined),
  };
}

/**
 * Decides whether a PostgreSQL suite runs. Reachable: true. Unreachable on a
 * laptop: false, with a loud warning so nobody mistakes a skip for a pass.
 * Unreachable in CI (`CI=true`): throws, so the run fails instead of skipping.
 */
export async function shouldRunPostgresSuite(
  suite: string,
  options: { readonly url?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<boolean> {
  const url = options.url ?? TEST_POSTGRES_URL;
  const env = options.env ?? process.env;
  if (await postgresAvailable(url)) return true;
  const where = redact(url);
  if (env['CI'] === 'true') {
    throw new Error(`${suite}: PostgreSQL at ${where} is unreachable and CI=true, so this suite fails instead of skipping. Start PostgreSQL or set CUPS_TEST_POSTGRES_URL.`);
  }
  console.warn(`\n!!! SKIPPING ${suite} on PostgreSQL: ${where} is unreachable. Start PostgreSQL (or set CUPS_TEST_POSTGRES_URL) to run it; in CI this is a failure.\n`);
  return false;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password !== '') u.password = '***';
  return u.toString();
}
