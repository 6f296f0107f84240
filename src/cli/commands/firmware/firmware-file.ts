import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { BlobStore } from '../../../blobs/types.js';
import { CupsError, invalid } from '../../../core/errors.js';

export interface LocalFile {
  readonly path: string;
  readonly size: number;
}

export async function statFile(path: string): Promise<LocalFile> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw invalid('not_a_file', `--file ${path} is not a regular file`);
    if (s.size === 0) throw invalid('empty_file', `--file ${path} is empty`);
    if (s.size >= 2 ** 31) throw invalid('file_too_large', `--file ${path} is ${s.size} bytes; stations accept updates below 2 GiB`);
    return { path, size: s.size };
  } catch (e) {
    if (e instanceof CupsError) throw e;
    throw invalid('unreadable_file', `cannot read --file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(path),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb();
      },
    }),
  );
  return hash.digest('hex');
}

/**
 * Stores the firmware once, named by its content hash, so any number of
 * stations share one blob; an existing blob with the same hash is reused.
 */
export async function uploadOnce(
  blobs: BlobStore,
  file: LocalFile,
  sha256: string,
  showProgress: boolean,
): Promise<{ blob: string; uploaded: boolean }> {
  const blob = `sha256-${sha256}`;
  const existing = await blobs.stat('fwupgrades', blob);
  if (existing !== undefined && existing.size === file.size) return { blob, uploaded: false };

  const bar = showProgress ? new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(file.size, 0);
  try {
    const put = await blobs.put('fwupgrades', blob, createReadStream(file.path), {
      size: file.size,
      onProgress: (n) => bar?.update(n),
    });
    if (put.sha256 !== sha256) {
      await blobs.delete('fwupgrades', blob);
      throw new CupsError('file_changed', 'conflict', `--file ${file.path} changed while it was uploaded; try again`);
    }
  } finally {
    bar?.stop();
  }
  return { blob, uploaded: true };
}
