import { KyselyWebhookStore } from './webhooks/webhook-store.js';
import { createRegistryBackend } from './open-backend.js';
import { KyselyRegistry } from './kysely-registry.js';
import type { StationRegistry } from './types.js';
import type { EventRetention } from './event-types.js';
import type { RegistryBackend } from './backend.js';
import { withRegistryCache, type CacheSetup } from './cache/index.js';
import { KyselyFleetStore } from './fleet-store.js';
import { KyselyAccessStore } from './access-store.js';
import type { FleetStore } from './fleet-types.js';
import type { AccessStore } from './access-types.js';
import { KyselyRolloutStore } from './rollout-store.js';
import type { RolloutStore } from './rollout-types.js';

export type * from './types.js';
export type * from './event-types.js';
export { DEFAULT_RETENTION } from './event-types.js';
export type * from './auth-types.js';
export type * from './fleet-types.js';
export type * from './certificates/expiry-types.js';
export { EXPIRY_WINDOWS } from './certificates/expiry-types.js';
export type * from './access-types.js';
export type * from './rollout-types.js';
export type * from './provisioning-types.js';
export { STATION_AUTH_MODES } from './auth-types.js';
export { hasRegistryPeek, type CachedStationRegistry, type RegistryPeek, type RegistryCacheState } from './cache/index.js';
export { parseRegistryUrl, type RegistryLocation } from './registry-url.js';

/** Options for createRegistry. */
export interface RegistryOptions {
  /** Receives warnings the registry cannot report through a call (idle connection lost, WAL refused). */
  readonly logger?: { warn(obj: object, msg?: string): void };
  /** Clock for created/updated stamps; defaults to the system clock. */
  readonly now?: () => Date;
  /** How much station history to keep; DEFAULT_RETENTION when absent. */
  readonly eventRetention?: EventRetention;
  /** Serve stations and their auth from memory, batch last-seen stamps (cache/cached-registry.ts); for servers. */
  readonly cache?: CacheSetup;
}

/**
 * Opens the station registry at `url`: `postgres://…` / `postgresql://…`
 * (optionally `?schema=NAME`, `?connect_timeout=SECONDS`), or a SQLite location
 * `sqlite:PATH`, `file:PATH`, a plain path or `:memory:`. Connects lazily and does
 * not migrate: call `migrate()` before use.
 */
export async function createRegistry(url: string, options: RegistryOptions = {}): Promise<StationRegistry> {
  const backend = await createRegistryBackend(url, options);
  return stationRegistry(backend, url, options);
}

/** The KyselyRegistry on `backend`, behind the in-memory cache when asked for. */
function stationRegistry(backend: RegistryBackend, url: string, options: RegistryOptions): Promise<StationRegistry> {
  const registry = new KyselyRegistry(backend, options.now ?? (() => new Date()), options.eventRetention);
  if (options.cache === undefined) return Promise.resolve(registry);
  return withRegistryCache(registry, backend, url, { ...options.cache, logger: options.cache.logger ?? options.logger });
}

/** The registry with the fleet-wide reads and operator access stores that share its database. */
export interface RegistryStores {
  readonly registry: StationRegistry;
  readonly fleet: FleetStore;
  readonly access: AccessStore;
  /** The firmware library and rollouts. */
  readonly rollouts: RolloutStore;
  /** The webhooks and their outbox. */
  readonly webhooks: KyselyWebhookStore;
}

/** Like createRegistry, plus the stores on the same connection pool; `registry.close()` closes them all. */
export async function createRegistryStores(url: string, options: RegistryOptions = {}): Promise<RegistryStores> {
  const backend = await createRegistryBackend(url, options);
  return {
    registry: await stationRegistry(backend, url, options),
    fleet: new KyselyFleetStore(backend),
    access: new KyselyAccessStore(backend),
    rollouts: new KyselyRolloutStore(backend),
    webhooks: new KyselyWebhookStore(backend),
  };
}
export type { AuditFor } from './audit-row.js';
export type * from './operator-stores.js';
