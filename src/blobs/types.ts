import type { Readable } from 'node:stream';

/** The two containers of the design: station credentials and firmware updates. */
export const CONTAINERS = ['stationcredentials', 'fwupgrades'] as const;
export type ContainerName = (typeof CONTAINERS)[number];

export interface BlobInfo {
  readonly size: number;
  readonly lastModified: Date;
}

export interface PutResult extends BlobInfo {
  /** Hex SHA-256 of the bytes written, computed while streaming. */
  readonly sha256: string;
}

export interface PutOptions {
  /** Called as bytes are consumed (for progress bars). */
  readonly onProgress?: (bytesWritten: number) => void;
  /** Expected size in bytes when known; a mismatch fails the put and keeps the old blob. */
  readonly size?: number;
  /**
   * Called once every byte is written and before the blob becomes visible; throwing abandons the put and
   * keeps the old blob. Lets a caller check the very bytes stored (their hash, signatures over them).
   */
  readonly beforeCommit?: (written: { readonly size: number; readonly sha256: string }) => void | Promise<void>;
}

export interface BlobRead {
  readonly size: number;
  readonly stream: Readable;
  /** The version's time, when the driver learns it with the read itself: tells versions apart for caches. */
  readonly lastModified?: Date;
  /**
   * Drivers with random access to the opened version (fs): reads up to
   * `target.length` bytes at `position` into `target` and resolves to how many
   * were read (0 at the end). Lets a sender reuse its own buffers instead of
   * taking a freshly allocated chunk per read from `stream`. The version is the
   * one `stream` reads; destroying `stream` still closes it.
   */
  readonly readAt?: (target: Buffer, position: number) => Promise<number>;
}

/**
 * The blob store. Streams in and out; never holds a whole blob in memory.
 * Names: 1..200 chars of [A-Za-z0-9._-], not starting with '.', so nothing
 * can escape the store; anything else throws invalid_argument `invalid_blob_name`.
 */
export interface BlobStore {
  /** Writes a blob atomically: readers see the old blob or the whole new one, never a part. */
  put(container: ContainerName, name: string, source: Readable | Uint8Array, options?: PutOptions): Promise<PutResult>;
  /** Opens a blob for reading, or undefined when it does not exist. */
  get(container: ContainerName, name: string): Promise<BlobRead | undefined>;
  /** Size and time of a blob, or undefined when it does not exist. */
  stat(container: ContainerName, name: string): Promise<BlobInfo | undefined>;
  /** Deletes a blob; false when it did not exist. */
  delete(container: ContainerName, name: string): Promise<boolean>;
  /** Names in a container, sorted, optionally only those starting with `prefix`. */
  list(container: ContainerName, prefix?: string): Promise<string[]>;
  /** Throws `unavailable` when the backing store cannot be reached. */
  ping(): Promise<void>;
  /** Releases resources. */
  close(): Promise<void>;
}
