import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FirmwareSource } from '../../operations/firmware-upload.js';

/**
 * Runs `fn` over an uploaded body spooled to a temporary file, never held in
 * memory: the firmware operations read their source twice (once to name the
 * blob by its hash, once to store it), which a request stream cannot do.
 */
export async function withSpooledBody<T>(body: unknown, fn: (source: FirmwareSource) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bscups-upload-'));
  try {
    const file = join(dir, 'update.bin');
    await pipeline(body as Readable, createWriteStream(file));
    const { size } = await stat(file);
    return await fn({ label: 'the uploaded body', size, open: () => createReadStream(file) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
