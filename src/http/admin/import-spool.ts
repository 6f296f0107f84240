import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';

// An import body goes to a private temporary file as it arrives, never into
// memory whole: the import reads it twice (check every row, then write), a
// batch at a time. The file is removed when the answer has been sent.

/** A request body spooled to disk. */
export interface SpooledBody {
  readonly spooled: true;
  readonly dir: string;
  readonly path: string;
  readonly bytes: number;
}

function isSpooled(body: unknown): body is SpooledBody {
  return typeof body === 'object' && body !== null && (body as { spooled?: unknown }).spooled === true;
}

function tooLarge(limit: number): Error {
  return Object.assign(new Error(`the import body is larger than ${limit} bytes; split the file`), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
}

async function spool(payload: NodeJS.ReadableStream, limit: number): Promise<SpooledBody> {
  const dir = await mkdtemp(join(tmpdir(), 'bscups-import-'));
  const path = join(dir, 'body');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(bytes > limit ? tooLarge(limit) : null, chunk);
    },
  });
  try {
    await pipeline(payload, count, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { spooled: true, dir, path, bytes };
}

/**
 * In `scope` (an encapsulated plugin holding only the import route): bodies of
 * these content types, JSON included, are spooled to disk instead of parsed.
 */
export function spoolBodies(scope: FastifyInstance, types: readonly string[], limit: number): void {
  scope.removeContentTypeParser(['application/json']);
  scope.addContentTypeParser([...types, 'application/json'], (_req, payload, done) => {
    spool(payload, limit).then(
      (body) => done(null, body),
      (e: unknown) => done(e as Error),
    );
  });
  scope.addHook('onResponse', async (req) => {
    if (isSpooled(req.body)) await rm(req.body.dir, { recursive: true, force: true });
  });
}

/** The spooled bytes from the start, each time it is called. */
export function spooledBytes(body: SpooledBody): () => AsyncIterable<Buffer> {
  return () => createReadStream(body.path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
}

/** The first character of the body that is not white space (or a byte-order mark), '' when there is none in its first 64 KiB. */
export async function firstNonBlank(body: SpooledBody): Promise<string> {
  const file = await open(body.path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    return /^\uFEFF?\s*(\S?)/.exec(buffer.subarray(0, bytesRead).toString('utf8'))?.[1] ?? '';
  } finally {
    await file.close();
  }
}
