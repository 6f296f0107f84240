import { createHash } from 'node:crypto';
import type { BlobRead, BlobStore } from '../blobs/types.js';

/** Versions remembered; beyond this the oldest is checked again when next offered. */
const REMEMBERED = 1_000;

/**
 * Checks a firmware blob against the SHA-256 recorded when it was uploaded,
 * before a station is offered it: a file changed in the store (same size,
 * other bytes) would burn an offer on every station. The hash is computed once
 * per version of the blob (name, size, last-modified) and process, so an offer
 * costs a lookup; the first one after start or after the blob changed waits
 * for one read of it, shared by every request that arrives meanwhile.
 */
export class FirmwareIntegrity {
  readonly #blobs: BlobStore;
  readonly #checked = new Map<string, Promise<boolean>>();

  constructor(blobs: BlobStore) {
    this.#blobs = blobs;
  }

  /** Whether the blob `read` opened still has `sha256`; true when the driver cannot tell versions apart (size is checked elsewhere). */
  matches(target: { readonly blob: string; readonly sha256: string }, read: BlobRead): Promise<boolean> {
    if (read.lastModified === undefined) return Promise.resolve(true);
    const key = `${target.blob}\0${read.size}\0${read.lastModified.getTime()}\0${target.sha256}`;
    let check = this.#checked.get(key);
    if (check === undefined) {
      check = this.#hash(target.blob).then((sha256) => sha256 === target.sha256);
      this.#checked.set(key, check);
      // A failed read is an outage, not a verdict: the next offer tries again.
      check.catch(() => this.#checked.delete(key));
      if (this.#checked.size > REMEMBERED) this.#checked.delete(this.#checked.keys().next().value as string);
    }
    return check;
  }

  async #hash(blob: string): Promise<string | undefined> {
    const read = await this.#blobs.get('fwupgrades', blob);
    if (read === undefined) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of read.stream) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
}
