import { createBlobStore } from './blobs/index.js';
import type { BlobStore } from './blobs/types.js';
import type { Config } from './config.js';
import { createRegistryStores, type AccessStore, type FleetStore } from './registry/index.js';
import type { StationRegistry } from './registry/types.js';

/** The registry and blob store a command or server works on. */
export interface Runtime {
  readonly config: Config;
  readonly registry: StationRegistry;
  /** Fleet-wide listings and the summary, on the registry's database. */
  readonly fleet: FleetStore;
  /** API keys and the audit log, on the registry's database. */
  readonly access: AccessStore;
  readonly blobs: BlobStore;
  close(): Promise<void>;
}

/** Opens the configured registry (migrated) and blob store; closes what was opened if a later step fails. */
export async function openRuntime(config: Config): Promise<Runtime> {
  const { registry, fleet, access } = await createRegistryStores(config.database);
  try {
    await registry.migrate();
    const blobs = await createBlobStore(config.blobs);
    return {
      config,
      registry,
      fleet,
      access,
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
export async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(config);
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
