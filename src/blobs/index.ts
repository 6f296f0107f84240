import { createAzureBlobStore } from './azure-store.js';
import { createFsBlobStore } from './fs-store.js';
import { parseBlobLocation } from './location.js';
import { createMemoryBlobStore } from './memory-store.js';
import type { BlobStore } from './types.js';

export { createAzureBlobStore, type AzureBlobStoreOptions } from './azure-store.js';
export { createFsBlobStore } from './fs-store.js';
export { ACCEPTED_LOCATIONS, parseBlobLocation, type BlobLocation } from './location.js';
export { createMemoryBlobStore } from './memory-store.js';
export { isValidBlobName, validateBlobName, validateContainer } from './names.js';
export * from './types.js';

/**
 * Opens the blob store a location names: a folder or `file:PATH` (the default
 * filesystem driver), `memory:`, or Azure (connection string or SAS account URL,
 * optionally `azure:`-prefixed). Throws invalid_argument listing the accepted forms.
 */
export async function createBlobStore(location: string): Promise<BlobStore> {
  const parsed = parseBlobLocation(location);
  switch (parsed.driver) {
    case 'fs':
      return createFsBlobStore(parsed.root);
    case 'memory':
      return createMemoryBlobStore();
    case 'azure':
      return 'url' in parsed ? createAzureBlobStore({ url: parsed.url }) : createAzureBlobStore({ connectionString: parsed.connectionString });
  }
}
