import { invalid } from '../core/errors.js';

/** Update bytes arriving in chunks: a Node readable (file, blob download, request) or any async iterable. */
export type ByteSource = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

/** Feeds every chunk of `source` to `onChunk`, one at a time, so a large update is never held in memory. */
export async function forEachChunk(source: ByteSource, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === 'string') {
      // A decoded stream has already lost bytes that are not valid text.
      throw invalid(
        'invalid_byte_source',
        'the update stream yields text, not bytes; do not call setEncoding() on a stream that is signed or verified',
      );
    }
    onChunk(chunk);
  }
}
