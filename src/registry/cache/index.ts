import type { RegistryBackend } from '../backend.js';
import { parseRegistryUrl } from '../registry-url.js';
import type { StationRegistry } from '../types.js';
import { createCachedRegistry, type CachedStationRegistry, type RegistryCacheOptions, type RegistryPeek } from './cached-registry.js';
import { privateDatabaseFeed, type ChangeFeed } from './change-feed.js';
import { kyselyStampWriter, sqliteThreadStampWriter } from './stamp-writer.js';
import { BUSY_TIMEOUT_MILLIS } from '../sqlite-backend.js';

export type { CachedStationRegistry, RegistryCacheOptions, RegistryCacheState, RegistryPeek } from './cached-registry.js';

/** How often, at most, a SQLite process looks for changes other processes committed. */
export const SQLITE_POLL_INTERVAL_MS = 5;

/** Options of withRegistryCache. */
export interface CacheSetup extends RegistryCacheOptions {
  /** SQLite: a read checks PRAGMA data_version at most this often (default 5 ms). */
  readonly sqlitePollIntervalMs?: number;
}

/** The change feed for the database `url` names: SQLite's change log, PostgreSQL's LISTEN, nothing for :memory:. */
export async function openChangeFeed(url: string, setup: CacheSetup): Promise<ChangeFeed & { listenerPid?: () => number | undefined }> {
  const location = parseRegistryUrl(url);
  if (location.kind === 'postgres') {
    const [{ postgresChangeFeed }, { postgresConnectionConfig }] = await Promise.all([
      import('./postgres-change-feed.js'),
      import('../postgres-backend.js'),
    ]);
    return postgresChangeFeed({
      connection: postgresConnectionConfig(location),
      applicationName: `bscups-listener ${location.schema ?? ''}`.trim().slice(0, 63),
      logger: setup.logger,
    });
  }
  if (location.path === ':memory:') return privateDatabaseFeed();
  const { sqliteChangeFeed } = await import('./sqlite-change-feed.js');
  return sqliteChangeFeed({ path: location.path, pollIntervalMs: setup.sqlitePollIntervalMs ?? SQLITE_POLL_INTERVAL_MS, logger: setup.logger });
}

/** Wraps the registry opened on `backend` (from `url`) with the in-memory cache; it starts on migrate(). */
export async function withRegistryCache(inner: StationRegistry, backend: RegistryBackend, url: string, setup: CacheSetup): Promise<CachedStationRegistry> {
  const location = parseRegistryUrl(url);
  const own = kyselyStampWriter(backend.db, backend.flavour);
  // A SQLite file's stamps are written on a thread of their own (stamp-writer.ts); :memory: has no other connection.
  const stamps = location.kind === 'sqlite' && location.path !== ':memory:' ? sqliteThreadStampWriter(location.path, BUSY_TIMEOUT_MILLIS, own) : own;
  return createCachedRegistry(inner, backend, await openChangeFeed(url, setup), setup, stamps);
}

/** Whether `registry` offers the synchronous peek path (it is the cached registry, cache on). */
export function hasRegistryPeek<R extends StationRegistry>(registry: R): registry is R & RegistryPeek {
  return typeof (registry as Partial<RegistryPeek>).peekStation === 'function';
}
