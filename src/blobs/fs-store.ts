import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { CupsError, invalid, isCupsError, unavailable } from '../core/errors.js';
import { isValidBlobName, validateBlobName, validateContainer, validateListPrefix } from './names.js';
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

/** Per-container folder for uploads in flight; its leading dot keeps it out of every valid blob name. */
const TEMP_DIR = '.tmp';
/** Temp files older than this were left by a crashed process and are swept at start, whoever wrote them. */
const STALE_TEMP_MS = 60 * 60 * 1000;
/**
 * Temp files are named `<host>.<pid>.<random>.<blob>`: at start-up, those of a
 * process on this host that no longer runs are partial uploads of a crash and
 * go at once; others may be a live upload (the CLI and the server share the
 * folder), so only age removes them.
 */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/**
 * Opening a blob never follows a symlink: one planted in the store must not serve (or leak) a file elsewhere.
 * Nor does it wait: opening a FIFO for reading would block until a writer came (no effect on regular files).
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The filesystem blob store: `<root>/<container>/<name>`. Creates the root and
 * both container folders (0700). Files are 0600 because station credentials
 * hold keys. Only regular files are blobs: symlinks and other kinds are refused.
 */
export async function createFsBlobStore(root: string): Promise<BlobStore> {
  if (typeof root !== 'string' || root.trim() === '') {
    throw invalid('invalid_blob_root', 'blob store folder is empty: pass a folder path such as ./data/blobs');
  }
  const abs = path.resolve(root);
  try {
    for (const container of CONTAINERS) await mkdir(path.join(abs, container, TEMP_DIR), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw unavailable('blobs_unavailable', `cannot create the blob store folders under ${abs} (${errno(e)}): check the path and its permissions`, e);
  }
  await sweepStaleTemps(abs);
  return new FsBlobStore(abs);
}

class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  async put(container: ContainerName, name: string, source: Readable | Uint8Array, options?: PutOptions): Promise<PutResult> {
    const file = this.#file(container, name);
    const meter = new PutMeter(`${container}/${name}`, options);
    const temp = path.join(this.root, container, TEMP_DIR, `${HOST_TAG}.${process.pid}.${randomBytes(6).toString('hex')}.${name}`);
    let handle: FileHandle | undefined;
    try {
      const fh = await this.#io('create a temporary file for', file, () => open(temp, 'wx', 0o600));
      handle = fh;
      for await (const chunk of meter.read(source)) await this.#io('write', file, () => writeAll(fh, chunk));
      const info = await this.#io('flush', file, async () => {
        await fh.sync();
        return fh.stat();
      });
      handle = undefined;
      await this.#io('close', file, () => fh.close());
      await options?.beforeCommit?.({ size: meter.bytes, sha256: meter.sha256 });
      await this.#io('replace', file, () => rename(temp, file));
      // Without syncing the folder, a crash right after the rename can forget it.
      await this.#io('sync the folder of', file, () => syncDir(path.dirname(file)));
      return { size: meter.bytes, sha256: meter.sha256, lastModified: info.mtime };
    } catch (e) {
      // Cleanup failures are secondary: the error that stopped the put is the one to report.
      await handle?.close().catch(() => undefined);
      await rm(temp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  async get(container: ContainerName, name: string): Promise<BlobRead | undefined> {
    const file = this.#file(container, name);
    let fh: FileHandle;
    try {
      // Holding the descriptor pins this version: a later rename swaps the name, not our inode.
      fh = await open(file, READ_FLAGS);
    } catch (e) {
      if (errno(e) === 'ENOENT') return this.#missing(container);
      if (errno(e) === 'ELOOP') throw notAFile(file);
      throw this.#fail('open', file, e);
    }
    try {
      const info = await fh.stat();
      if (!info.isFile()) throw notAFile(file);
      const handle = fh;
      const readAt = async (target: Buffer, position: number): Promise<number> => (await handle.read(target, 0, target.length, position)).bytesRead;
      return { size: info.size, stream: fh.createReadStream(), lastModified: info.mtime, readAt };
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw this.#fail('read', file, e);
    }
  }

  async stat(container: ContainerName, name: string): Promise<BlobInfo | undefined> {
    const file = this.#file(container, name);
    try {
      const info = await lstat(file);
      if (!info.isFile()) throw notAFile(file);
      return { size: info.size, lastModified: info.mtime };
    } catch (e) {
      if (errno(e) === 'ENOENT') return this.#missing(container);
      throw this.#fail('stat', file, e);
    }
  }

  async delete(container: ContainerName, name: string): Promise<boolean> {
    const file = this.#file(container, name);
    try {
      await unlink(file);
      return true;
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw this.#fail('delete', file, e);
      await this.#missing(container);
      return false;
    }
  }

  async list(container: ContainerName, prefix?: string): Promise<string[]> {
    const dir = path.join(this.root, validateContainer(container));
    const start = validateListPrefix(prefix);
    const entries = await this.#io('list', dir, () => readdir(dir, { withFileTypes: true }));
    // Valid names only: temp files and anything dropped in by hand are not blobs.
    return entries
      .filter((d) => d.isFile() && isValidBlobName(d.name) && d.name.startsWith(start))
      .map((d) => d.name)
      .sort();
  }

  async ping(): Promise<void> {
    for (const container of CONTAINERS) {
      const dir = path.join(this.root, container, TEMP_DIR);
      await this.#io('access', dir, () => access(dir, constants.R_OK | constants.W_OK | constants.X_OK));
    }
  }

  async close(): Promise<void> {}

  #file(container: ContainerName, name: string): string {
    return path.join(this.root, validateContainer(container), validateBlobName(name));
  }

  /** A blob is only "not found" while its container folder exists; a vanished folder is an outage. */
  async #missing(container: ContainerName): Promise<undefined> {
    const dir = path.join(this.root, container);
    const info = await this.#io('check', dir, () => stat(dir));
    if (!info.isDirectory()) throw this.#fail('check', dir, Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }));
    return undefined;
  }

  async #io<T>(op: string, target: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.#fail(op, target, e);
    }
  }

  #fail(op: string, target: string, e: unknown): CupsError {
    if (isCupsError(e)) return e;
    return unavailable(
      'blobs_unavailable',
      `blob store could not ${op} ${target} (${errno(e)}): check that ${this.root} exists, is mounted and is writable`,
      e,
    );
  }
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  for (let off = 0; off < chunk.length; ) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
    off += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function sweepStaleTemps(root: string): Promise<void> {
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const container of CONTAINERS) {
    const dir = path.join(root, container, TEMP_DIR);
    // Best effort: a sweep that fails only leaves garbage behind; ping reports real access problems.
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      const file = path.join(dir, n);
      const info = await lstat(file).catch(() => undefined);
      if (info === undefined || info.isDirectory()) continue;
      if (info.mtimeMs < cutoff || !info.isFile() || writerIsGone(n)) await rm(file, { force: true }).catch(() => undefined);
    }
  }
}

/** Whether a temp file was written by a process of this host that has ended. */
function writerIsGone(tempName: string): boolean {
  const [host, pid] = tempName.split('.');
  if (host !== HOST_TAG || pid === undefined || !/^\d+$/.test(pid)) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    // EPERM: alive but someone else's.
    return errno(e) === 'ESRCH';
  }
}

function notAFile(file: string): CupsError {
  return new CupsError('blob_not_a_file', 'internal', `${file} is not a regular file: remove it from the blob store folder`);
}

function errno(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') return e.code;
  return e instanceof Error ? e.message : String(e);
}
