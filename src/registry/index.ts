import { createRegistryBackend } from './open-backend.js';
import { KyselyRegistry } from './kysely-registry.js';
import type { StationRegistry } from './types.js';

export type * from './types.js';
export type * from './auth-types.js';
export { STATION_AUTH_MODES } from './auth-types.js';
export { parseRegistryUrl, type RegistryLocation } from './registry-url.js';

/** Options for createRegistry. */
export interface RegistryOptions {
  /** Receives warnings the registry cannot report through a call (idle connection lost, WAL refused). */
  readonly logger?: { warn(obj: object, msg?: string): void };
  /** Clock for created/updated stamps; defaults to the system clock. */
  readonly now?: () => Date;
}

/**
 * Opens the station registry at `url`: `postgres://…` / `postgresql://…`
 * (optionally `?schema=NAME`, `?connect_timeout=SECONDS`), or a SQLite location
 * `sqlite:PATH`, `file:PATH`, a plain path or `:memory:`. Connects lazily and does
 * not migrate: call `migrate()` before use.
 */
export async function createRegistry(url: string, options: RegistryOptions = {}): Promise<StationRegistry> {
  const backend = await createRegistryBackend(url, options);
  return new KyselyRegistry(backend, options.now ?? (() => new Date()));
}
