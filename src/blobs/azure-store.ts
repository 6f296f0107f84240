import { Readable } from 'node:stream';
import type { BlobServiceClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import { CupsError, invalid, unavailable } from '../core/errors.js';
import { uploadBlocks } from './azure-block-upload.js';
import { azureFailure, isAzureNotFound } from './azure-errors.js';
import { checkAzureUrl } from './azure-url.js';
import { isValidBlobName, validateBlobName, validateContainer, validateListPrefix } from './names.js';
import { PutMeter } from './put-meter.js';
import {
  CONTAINERS,
  type BlobInfo,
  type BlobRead,
  type BlobStore,
  type ContainerName,
  type PutOptions,
  type PutResult,
} from './types.js';

export interface AzureBlobStoreOptions {
  /** An account or SAS connection string (e.g. from the portal's "Access keys"). */
  readonly connectionString?: string;
  /** An account URL carrying a SAS query string (`https://ACCOUNT.blob.core.windows.net/?sv=…&sig=…`). */
  readonly url?: string;
  /** Prepended to the container names (`<prefix>stationcredentials`) so tenants and tests stay apart. */
  readonly containerPrefix?: string;
}

const BLOCK_SIZE = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 3;
const PING_TIMEOUT_MS = 5_000;
/** The SDK defaults (4 tries, 4 s growing to 120 s) can stall a request for minutes; fail fast instead. */
const PIPELINE_OPTIONS: StoragePipelineOptions = {
  retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
  userAgentOptions: { userAgentPrefix: 'basicstation-cups' },
};
const CONTAINER_PATTERN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;

type AzureSdk = typeof import('@azure/storage-blob');

/**
 * The Azure Blob Storage driver, for servers that scale out. Loads the SDK on
 * first use so the filesystem path never pays for it. Containers are created
 * on first write.
 */
export async function createAzureBlobStore(options: AzureBlobStoreOptions): Promise<BlobStore> {
  const { connectionString, url, containerPrefix = '' } = checkOptions(options);
  const sdk = await loadSdk();
  let service: BlobServiceClient;
  try {
    service =
      connectionString !== undefined
        ? sdk.BlobServiceClient.fromConnectionString(connectionString, { ...PIPELINE_OPTIONS })
        : new sdk.BlobServiceClient(checkAzureUrl(url ?? ''), new sdk.AnonymousCredential(), { ...PIPELINE_OPTIONS });
  } catch (e) {
    if (e instanceof CupsError) throw e;
    // The SDK's parse messages name the bad key, never its value, so they are safe to show.
    const reason = e instanceof Error ? e.message : String(e);
    throw new CupsError(
      'invalid_blob_location',
      'invalid_argument',
      `Azure connection string is not usable (${reason}): copy it again from the storage account's "Access keys" page`,
      undefined,
      { cause: e },
    );
  }
  return new AzureBlobStore(service, containerPrefix);
}

class AzureBlobStore implements BlobStore {
  readonly #clients = new Map<ContainerName, ContainerClient>();
  readonly #created = new Map<ContainerName, Promise<void>>();

  constructor(service: BlobServiceClient, prefix: string) {
    for (const c of CONTAINERS) this.#clients.set(c, service.getContainerClient(`${prefix}${c}`));
  }

  async put(container: ContainerName, name: string, source: Readable | Uint8Array, options?: PutOptions): Promise<PutResult> {
    const client = this.#container(container);
    validateBlobName(name);
    const what = `writing ${container}/${name}`;
    const meter = new PutMeter(`${container}/${name}`, options);
    try {
      await this.#ensureContainer(container, client);
      const lastModified = await uploadBlocks(client.getBlockBlobClient(name), meter.read(source), {
        blockSize: BLOCK_SIZE,
        concurrency: UPLOAD_CONCURRENCY,
        contentType: 'application/octet-stream',
        beforeCommit: async () => options?.beforeCommit?.({ size: meter.bytes, sha256: meter.sha256 }),
      });
      return { size: meter.bytes, sha256: meter.sha256, lastModified: lastModified ?? new Date() };
    } catch (e) {
      throw azureFailure(e, what);
    }
  }

  async get(container: ContainerName, name: string): Promise<BlobRead | undefined> {
    const blob = this.#container(container).getBlobClient(validateBlobName(name));
    try {
      // On a broken connection the SDK resumes with If-Match on the etag, so a resumed read cannot splice in a newer version.
      const res = await blob.download(0, undefined, { maxRetryRequests: 3 });
      const body = res.readableStreamBody;
      if (!body || res.contentLength === undefined) {
        throw new CupsError('blobs_bad_response', 'unavailable', `Azure Blob Storage sent no body for ${container}/${name}; retry`);
      }
      return {
        size: res.contentLength,
        stream: body instanceof Readable ? body : new Readable().wrap(body),
        ...(res.lastModified === undefined ? {} : { lastModified: res.lastModified }),
      };
    } catch (e) {
      if (isAzureNotFound(e)) return undefined;
      throw azureFailure(e, `reading ${container}/${name}`);
    }
  }

  async stat(container: ContainerName, name: string): Promise<BlobInfo | undefined> {
    const blob = this.#container(container).getBlobClient(validateBlobName(name));
    try {
      const props = await blob.getProperties();
      return { size: props.contentLength ?? 0, lastModified: props.lastModified ?? new Date(0) };
    } catch (e) {
      if (isAzureNotFound(e)) return undefined;
      throw azureFailure(e, `reading the properties of ${container}/${name}`);
    }
  }

  async delete(container: ContainerName, name: string): Promise<boolean> {
    const blob = this.#container(container).getBlobClient(validateBlobName(name));
    try {
      await blob.delete({ deleteSnapshots: 'include' });
      return true;
    } catch (e) {
      if (isAzureNotFound(e)) return false;
      throw azureFailure(e, `deleting ${container}/${name}`);
    }
  }

  async list(container: ContainerName, prefix?: string): Promise<string[]> {
    const client = this.#container(container);
    const start = validateListPrefix(prefix);
    const names: string[] = [];
    try {
      for await (const item of client.listBlobsFlat(start ? { prefix: start } : {})) {
        // Blobs put there by other tools may have names this store cannot address; leave them out.
        if (isValidBlobName(item.name)) names.push(item.name);
      }
    } catch (e) {
      if (isAzureNotFound(e)) return [];
      throw azureFailure(e, `listing ${container}`);
    }
    return names.sort();
  }

  async ping(): Promise<void> {
    const client = this.#container('stationcredentials');
    try {
      await client.getProperties({ abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
    } catch (e) {
      // A missing container still proves the account answers; the first put creates it.
      if (isAzureNotFound(e)) return;
      throw azureFailure(e, 'checking the connection');
    }
  }

  async close(): Promise<void> {}

  #container(container: ContainerName): ContainerClient {
    const client = this.#clients.get(validateContainer(container));
    if (!client) throw new Error(`unreachable: container ${container} validated but has no client`);
    return client;
  }

  /** createIfNotExists once per process and container; a failed attempt is retried by the next put. */
  #ensureContainer(container: ContainerName, client: ContainerClient): Promise<void> {
    let pending = this.#created.get(container);
    if (!pending) {
      pending = client.createIfNotExists().then(() => undefined);
      this.#created.set(container, pending);
      void pending.catch(() => this.#created.delete(container));
    }
    return pending;
  }
}

function checkOptions(options: AzureBlobStoreOptions): AzureBlobStoreOptions {
  if (options === null || typeof options !== 'object') {
    throw invalid('invalid_blob_options', 'Azure blob store options must be an object with connectionString or url');
  }
  const { connectionString, url, containerPrefix } = options;
  const given = [connectionString, url].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw invalid('invalid_blob_options', 'Azure blob store needs exactly one of connectionString or url (an account URL with a SAS token)');
  }
  if (given.some((v) => typeof v !== 'string' || v.trim() === '')) {
    throw invalid('invalid_blob_options', 'Azure blob store connectionString or url is empty: pass the value from the storage account');
  }
  if (containerPrefix !== undefined) {
    const bad = typeof containerPrefix !== 'string' || !CONTAINERS.every((c) => CONTAINER_PATTERN.test(`${containerPrefix}${c}`));
    if (bad) {
      throw invalid(
        'invalid_blob_options',
        `containerPrefix ${JSON.stringify(containerPrefix)} is invalid: use lowercase letters, digits and single hyphens, at most 45 characters`,
        { containerPrefix },
      );
    }
  }
  return options;
}

async function loadSdk(): Promise<AzureSdk> {
  try {
    return await import('@azure/storage-blob');
  } catch (e) {
    throw unavailable('blobs_driver_missing', 'the Azure blob driver needs @azure/storage-blob: run npm install @azure/storage-blob', e);
  }
}
