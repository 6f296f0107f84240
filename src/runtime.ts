import { createBlobStore } from './blobs/index.js';
import { createLazyBlobStore } from './blobs/lazy-store.js';
import type { BlobStore } from './blobs/types.js';
import type { Config } from './config.js';
import { createRegistryStores, type AccessStore, type FleetStore, type RolloutStore } from './registry/index.js';
import type { StationRegistry } from './registry/types.js';
import type { KyselyWebhookStore } from './registry/webhooks/webhook-store.js';

/** The registry and blob store a command or server works on. */
export interface Runtime {
  readonly config: Config;
  readonly registry: StationRegistry;
  /** Fleet-wide listings and the summary, on the registry's database. */
  readonly fleet: FleetStore;
  /** API keys and the audit log, on the registry's database. */
  readonly access: AccessStore;
  /** The firmware library and rollouts, on the registry's database. */
  readonly rollouts: RolloutStore;
  /** Webhooks and their outbox, on the registry's database. */
  readonly webhooks: KyselyWebhookStore;
  readonly blobs: BlobStore;
  close(): Promise<void>;
}

/** What only a server wants of its runtime. */
export interface RuntimeOptions {
  /**
   * Put the registry cache in front of the registry (when config.registryCache):
   * stations and auth served from memory, last-seen stamps batched. A one-shot
   * CLI command gains nothing from loading the fleet, so only `serve` asks.
   */
  readonly serving?: boolean;
  /**
   * Open the blob store only when a blob is first touched. The server opens it at
   * start so a bad location fails fast; a CLI command that stores no blob must not
   * need a writable blob folder.
   */
  readonly lazyBlobs?: boolean;
}

/** Opens the configured registry (migrated) and blob store; closes what was opened if a later step fails. */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const cached = options.serving === true && config.registryCache;
  const eventRetention = {
    maxAgeMs: config.eventMaxAgeDays * 86_400_000,
    perStation: config.eventsPerStation,
    refusalRowsPerStation: config.refusalRowsPerStation,
    unknownStations: config.unknownStationsMax,
  };
  const { registry, fleet, access, rollouts, webhooks } = await createRegistryStores(
    config.database,
    cached ? { eventRetention, cache: { lastSeenIntervalMs: config.lastSeenInterval * 1000 } } : { eventRetention },
  );
  try {
    await registry.migrate();
    const blobs = options.lazyBlobs === true ? createLazyBlobStore(() => createBlobStore(config.blobs)) : await createBlobStore(config.blobs);
    return {
      config,
      registry,
      fleet,
      access,
      rollouts,
      webhooks,
      blobs,
      async close() {
        await Promise.allSettled([registry.close(), blobs.close()]);
      },
    };
  } catch (e) {
    await registry.close().catch(() => undefined);
    throw e;
  }
}

/** Runs `fn` with an open runtime and always closes it. */
export async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>, options: RuntimeOptions = {}): Promise<T> {
  const rt = await openRuntime(config, options);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
