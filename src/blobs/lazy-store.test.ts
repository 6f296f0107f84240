import { describe, expect, it } from 'vitest';
import { unavailable } from '../core/errors.js';
import { createLazyBlobStore } from './lazy-store.js';
import { createMemoryBlobStore } from './memory-store.js';
import type { BlobStore } from './types.js';

describe('a blob store opened on first use', () => {
  it('opens nothing until a blob is touched, and nothing at close when never used', async () => {
    let opened = 0;
    const store = createLazyBlobStore(() => {
      opened++;
      return Promise.resolve(createMemoryBlobStore());
    });
    await store.close();
    expect(opened).toBe(0);
  });

  it('opens once for concurrent first calls and passes every call through', async () => {
    let opened = 0;
    const store = createLazyBlobStore(() => {
      opened++;
      return Promise.resolve(createMemoryBlobStore());
    });
    await Promise.all([store.put('fwupgrades', 'a.bin', Buffer.from('a')), store.put('fwupgrades', 'b.bin', Buffer.from('b'))]);
    expect(await store.list('fwupgrades')).toEqual(['a.bin', 'b.bin']);
    expect(opened).toBe(1);
    await store.close();
  });

  it('reports a failed open to the caller and tries again on the next call', async () => {
    let attempts = 0;
    const store = createLazyBlobStore((): Promise<BlobStore> => {
      attempts++;
      return attempts === 1 ? Promise.reject(unavailable('blobs_unavailable', 'not yet')) : Promise.resolve(createMemoryBlobStore());
    });
    await expect(store.ping()).rejects.toMatchObject({ code: 'blobs_unavailable' });
    await expect(store.ping()).resolves.toBeUndefined();
    expect(attempts).toBe(2);
    await store.close();
  });
});
