import type { BlobStore } from './types.js';

/**
 * A blob store opened on first use. Most CLI commands never touch a blob
 * (`station add`, `station list`), and opening the store creates folders or
 * reaches Azure, so a read-only or absent blob location must not stop them.
 * A failed open is not remembered: the next call tries again.
 */
export function createLazyBlobStore(open: () => Promise<BlobStore>): BlobStore {
  let opening: Promise<BlobStore> | undefined;
  const store = (): Promise<BlobStore> => {
    opening ??= open().catch((e: unknown) => {
      opening = undefined;
      throw e;
    });
    return opening;
  };
  return {
    put: async (container, name, source, options) => (await store()).put(container, name, source, options),
    get: async (container, name) => (await store()).get(container, name),
    stat: async (container, name) => (await store()).stat(container, name),
    delete: async (container, name) => (await store()).delete(container, name),
    list: async (container, prefix) => (await store()).list(container, prefix),
    ping: async () => (await store()).ping(),
    async close() {
      if (opening === undefined) return;
      const opened = await opening.catch(() => undefined);
      await opened?.close();
    },
  };
}
