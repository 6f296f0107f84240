import { createHash, type Hash } from 'node:crypto';
import type { BlobRead, BlobStore } from '../blobs/types.js';
import { brokenUpdate } from '../core/firmware-delivery.js';
import type { FirmwareTarget, NewEvent } from '../core/model.js';

/** At or below this size an update is read whole and checked before its answer starts (one read buffer of the sender). */
export const CHECKED_BEFORE_SENDING = 64 * 1024;

/** Broken versions remembered; beyond this the oldest is found again by its next download. */
const REMEMBERED = 1_000;

type Update = Pick<FirmwareTarget, 'package' | 'blob' | 'size' | 'sha256'>;

/** An update ready to send, or why it is not offered. */
export type OpenedUpdate =
  | {
      readonly ok: true;
      readonly read: BlobRead;
      /** The whole update, already checked against its SHA-256 (small updates): send these bytes. */
      readonly bytes?: Buffer;
    }
  | {
      readonly ok: false;
      /** The station's problem, as for a missing blob. */
      readonly problem: string;
      /** Set when the stored bytes are not the upload's: the target fails with this. */
      readonly broken?: { readonly lastError: string; readonly event: NewEvent };
    };

/**
 * Opens a firmware update for an offer and checks the bytes that are sent, not
 * the file's size and time (which can be put back after a change in place).
 * A small update is read and hashed before the answer starts; a larger one is
 * hashed while it streams (streamCheck) and, when the hash is not the upload's,
 * its connection is cut before the last chunk, so the station discards it
 * (PROTOCOL.md 5.4). A version found broken is remembered in this process and
 * refused before sending; the registry keeps the verdict on the targets.
 * A blob that cannot be opened (a symlink, not a file, unreadable) is a
 * problem like a missing one, never a failed exchange: a 500 would send a
 * real station to its backup credentials (PROTOCOL.md 5.3).
 */
export class FirmwareIntegrity {
  readonly #blobs: BlobStore;
  /** Version key → the SHA-256 its bytes had. */
  readonly #broken = new Map<string, string>();

  constructor(blobs: BlobStore) {
    this.#blobs = blobs;
  }

  async open(target: Update): Promise<OpenedUpdate> {
    const name = `firmware ${target.package}: blob ${target.blob}`;
    let read: BlobRead | undefined;
    try {
      read = await this.#blobs.get('fwupgrades', target.blob);
    } catch (e) {
      return { ok: false, problem: `${name} cannot be read from the blob store (${reason(e)}); not offered: fix or upload it again` };
    }
    if (read === undefined) return { ok: false, problem: `${name} is missing from the blob store; upload it again` };
    if (read.size !== target.size) {
      read.stream.destroy();
      return { ok: false, problem: `${name} is ${read.size} bytes in the blob store, not the ${target.size} of the upload (SHA-256 cannot match); upload it again` };
    }
    const known = this.#broken.get(versionKey(target, read));
    if (known !== undefined) {
      read.stream.destroy();
      return this.#refuse(target, read, known);
    }
    if (read.size > CHECKED_BEFORE_SENDING) return { ok: true, read };
    let bytes: Buffer;
    try {
      bytes = await readWhole(read);
    } catch (e) {
      read.stream.destroy();
      return { ok: false, problem: `${name} cannot be read from the blob store (${reason(e)}); not offered: fix or upload it again` };
    }
    const found = createHash('sha256').update(bytes).digest('hex');
    if (found !== target.sha256) return this.#refuse(target, read, found);
    return { ok: true, read, bytes };
  }

  /** A hash of the bytes as they are sent; `verdict` is called once, after the last chunk was hashed and before it is written. */
  streamCheck(target: Update, read: BlobRead): StreamCheck {
    return new StreamCheck(target.sha256, (found) => this.#remember(target, read, found));
  }

  #refuse(target: Update, read: BlobRead, found: string): OpenedUpdate {
    this.#remember(target, read, found);
    const broken = brokenUpdate(target, found);
    return { ok: false, problem: broken.lastError, broken };
  }

  #remember(target: Update, read: BlobRead, found: string): void {
    this.#broken.set(versionKey(target, read), found);
    if (this.#broken.size > REMEMBERED) this.#broken.delete(this.#broken.keys().next().value as string);
  }
}

/** The SHA-256 of an update as its chunks go out. */
export class StreamCheck {
  readonly #hash: Hash = createHash('sha256');
  readonly #expected: string;
  readonly #onBroken: (found: string) => void;

  constructor(expected: string, onBroken: (found: string) => void) {
    this.#expected = expected;
    this.#onBroken = onBroken;
  }

  update(chunk: Buffer): void {
    this.#hash.update(chunk);
  }

  /** After the last chunk was hashed: undefined when the bytes are the upload's, else the SHA-256 they have (remembered as broken). */
  finish(): string | undefined {
    const found = this.#hash.digest('hex');
    if (found === this.#expected) return undefined;
    this.#onBroken(found);
    return found;
  }
}

/** A re-upload stores a new file (new time): only the version found broken stays refused. */
function versionKey(target: Update, read: BlobRead): string {
  return `${target.blob}\0${target.sha256}\0${read.size}\0${read.lastModified?.getTime() ?? ''}`;
}

async function readWhole(read: BlobRead): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of read.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reason(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string' && e instanceof Error) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
