import { randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';

export interface BlockUploadOptions {
  /** Bytes per staged block. */
  readonly blockSize: number;
  /** Staged blocks in flight at once; with the one being filled this bounds memory. */
  readonly concurrency: number;
  readonly contentType: string;
  /** Runs after the last byte is read and staged, before the blob is committed; throwing keeps the old blob. */
  readonly beforeCommit?: () => Promise<void>;
}

/**
 * Uploads a stream as a block blob that readers see only once it is complete:
 * blocks are staged (invisible) and the blob changes at `commitBlockList`. A
 * source shorter than one block goes up as a single Put Blob, also atomic.
 * Returns the service's last-modified time of the new blob.
 */
export async function uploadBlocks(
  client: BlockBlobClient,
  chunks: AsyncIterable<Buffer>,
  options: BlockUploadOptions,
): Promise<Date | undefined> {
  const { blockSize, concurrency, contentType } = options;
  const headers = { blobHTTPHeaders: { blobContentType: contentType } };
  // Same-length ids are required within a blob; the random part keeps two uploads' blocks apart.
  const uploadId = randomBytes(6).toString('hex');
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  let failure: { error: unknown } | undefined;

  const stage = async (block: Buffer): Promise<void> => {
    const id = Buffer.from(`${uploadId}-${String(ids.length).padStart(6, '0')}`).toString('base64');
    ids.push(id);
    const task: Promise<void> = client
      .stageBlock(id, block, block.length, { abortSignal: abort.signal })
      .then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
          abort.abort();
        },
      )
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (failure) throw failure.error;
  };

  const parts: Buffer[] = [];
  let filled = 0;
  try {
    for await (const chunk of chunks) {
      for (let off = 0; off < chunk.length; ) {
        const take = Math.min(blockSize - filled, chunk.length - off);
        parts.push(chunk.subarray(off, off + take));
        filled += take;
        off += take;
        if (filled === blockSize) {
          const block = Buffer.concat(parts, filled);
          parts.length = 0;
          filled = 0;
          await stage(block);
        }
      }
    }
    const rest = Buffer.concat(parts, filled);
    parts.length = 0;
    if (ids.length === 0) {
      await options.beforeCommit?.();
      const res = await client.upload(rest, rest.length, headers);
      return res.lastModified;
    }
    if (rest.length > 0) await stage(rest);
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    await options.beforeCommit?.();
    const res = await client.commitBlockList(ids, headers);
    return res.lastModified;
  } catch (e) {
    // Nothing was committed, so the old blob stands; staged blocks expire on the service.
    abort.abort();
    await Promise.allSettled(inFlight);
    throw e;
  }
}
