import { Readable } from 'node:stream';
import { validateBlobName, validateContainer, validateListPrefix } from './names.js';
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

interface StoredBlob {
  readonly data: Buffer;
  readonly lastModified: Date;
}

const READ_CHUNK = 64 * 1024;

/**
 * A blob store held in process memory, for tests and throwaway servers. Blobs are
 * replaced, never mutated, so a reader opened earlier keeps its version.
 */
export function createMemoryBlobStore(): BlobStore {
  return new MemoryBlobStore();
}

class MemoryBlobStore implements BlobStore {
  readonly #containers = new Map<ContainerName, Map<string, StoredBlob>>(
    CONTAINERS.map((c) => [c, new Map<string, StoredBlob>()]),
  );

  async put(container: ContainerName, name: string, source: Readable | Uint8Array, options?: PutOptions): Promise<PutResult> {
    const blobs = this.#blobs(container);
    validateBlobName(name);
    const meter = new PutMeter(`${container}/${name}`, options);
    const parts: Buffer[] = [];
    // Copy each chunk: the caller may reuse its buffers once the put resolves.
    for await (const chunk of meter.read(source)) parts.push(Buffer.from(chunk));
    const stored: StoredBlob = { data: Buffer.concat(parts, meter.bytes), lastModified: new Date() };
    await options?.beforeCommit?.({ size: meter.bytes, sha256: meter.sha256 });
    blobs.set(name, stored);
    return { size: stored.data.length, lastModified: stored.lastModified, sha256: meter.sha256 };
  }

  async get(container: ContainerName, name: string): Promise<BlobRead | undefined> {
    const blob = this.#find(container, name);
    if (!blob) return undefined;
    return { size: blob.data.length, stream: Readable.from(chunks(blob.data)), lastModified: blob.lastModified };
  }

  async stat(container: ContainerName, name: string): Promise<BlobInfo | undefined> {
    const blob = this.#find(container, name);
    return blob && { size: blob.data.length, lastModified: blob.lastModified };
  }

  async delete(container: ContainerName, name: string): Promise<boolean> {
    const blobs = this.#blobs(container);
    return blobs.delete(validateBlobName(name));
  }

  async list(container: ContainerName, prefix?: string): Promise<string[]> {
    const blobs = this.#blobs(container);
    const start = validateListPrefix(prefix);
    return [...blobs.keys()].filter((n) => n.startsWith(start)).sort();
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  #find(container: ContainerName, name: string): StoredBlob | undefined {
    const blobs = this.#blobs(container);
    return blobs.get(validateBlobName(name));
  }

  #blobs(container: ContainerName): Map<string, StoredBlob> {
    const blobs = this.#containers.get(validateContainer(container));
    if (!blobs) throw new Error(`unreachable: container ${container} validated but not allocated`);
    return blobs;
  }
}

function* chunks(data: Buffer): Generator<Buffer> {
  // Copies, so a consumer that scribbles on its chunks cannot change the stored blob.
  for (let off = 0; off < data.length; off += READ_CHUNK) yield Buffer.from(data.subarray(off, off + READ_CHUNK));
}
