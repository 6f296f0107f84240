import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CupsError, invalid } from '../core/errors.js';
import type { PutOptions } from './types.js';

/** Slice size for Uint8Array sources, so progress and uploads advance in steps. */
const ARRAY_SLICE = 64 * 1024;

/**
 * Counts, hashes and size-checks the bytes of a put while they stream through,
 * shared by every driver so all of them agree on SHA-256, progress and mismatch.
 */
export class PutMeter {
  readonly #hash: Hash = createHash('sha256');
  readonly #label: string;
  readonly #expected: number | undefined;
  readonly #onProgress: ((bytes: number) => void) | undefined;
  #bytes = 0;
  #sha256: string | undefined;

  constructor(label: string, options: PutOptions = {}) {
    const { size, onProgress } = options;
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw invalid('invalid_blob_size', `size for ${label} must be a whole number of bytes >= 0, got ${String(size)}`, {
        size,
      });
    }
    this.#label = label;
    this.#expected = size;
    this.#onProgress = onProgress;
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Hex SHA-256 of everything read; only after `read` ran to the end. */
  get sha256(): string {
    if (this.#sha256 === undefined) throw new CupsError('blob_put_incomplete', 'internal', `put of ${this.#label} read before it finished`);
    return this.#sha256;
  }

  /**
   * Yields the source as Buffers. Throws `blob_size_mismatch` as soon as the
   * source overshoots a given size (so no extra bytes are written) or ends short.
   * Progress is reported when the consumer asks for the next chunk, i.e. once it
   * has taken the previous one.
   */
  async *read(source: Readable | Uint8Array): AsyncGenerator<Buffer, void, undefined> {
    for await (const raw of iterate(source, this.#label)) {
      const chunk = toBuffer(raw, this.#label);
      if (chunk.length === 0) continue;
      this.#bytes += chunk.length;
      if (this.#expected !== undefined && this.#bytes > this.#expected) throw this.#mismatch(true);
      this.#hash.update(chunk);
      yield chunk;
      this.#onProgress?.(this.#bytes);
    }
    if (this.#expected !== undefined && this.#bytes !== this.#expected) throw this.#mismatch(false);
    this.#sha256 = this.#hash.digest('hex');
  }

  #mismatch(over: boolean): CupsError {
    return new CupsError(
      'blob_size_mismatch',
      'invalid_argument',
      `${this.#label}: expected ${this.#expected} bytes but the source gave ${this.#bytes}${over ? ' or more' : ''}; ` +
        'the existing blob was kept. Check the size you passed against the file.',
      { expected: this.#expected, actual: this.#bytes, complete: !over },
    );
  }
}

function iterate(source: Readable | Uint8Array, label: string): AsyncIterable<unknown> | Iterable<unknown> {
  if (source instanceof Uint8Array) return slices(source);
  if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) return source;
  throw invalid('invalid_blob_source', `content for ${label} must be a Readable stream or a Uint8Array`);
}

function* slices(bytes: Uint8Array): Generator<Buffer> {
  for (let off = 0; off < bytes.byteLength; off += ARRAY_SLICE) {
    const len = Math.min(ARRAY_SLICE, bytes.byteLength - off);
    yield Buffer.from(bytes.buffer, bytes.byteOffset + off, len);
  }
}

function toBuffer(chunk: unknown, label: string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw invalid('invalid_blob_source', `content for ${label} produced a ${typeof chunk} chunk; stream bytes, not objects`);
}
