import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { conflict, invalid, type CupsError } from '../core/errors.js';

// Credential files (station keys and tokens, CA and server keys, signing keys)
// are created, never written through: a symlink or file planted where one goes
// must not receive a private key. A new file is opened O_CREAT|O_EXCL|O_NOFOLLOW
// (fails on anything already there, a dangling link included); replacing one
// (--force) writes a new file beside it and renames it over the name, which
// replaces a link itself, never its target. Files are 0600 and folders made for
// them 0700 whatever the umask.

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Creates `dir` (and missing parents) owner-only; folders that exist keep their mode. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  // mkdir's mode is masked by the umask; the folders made here are set exactly.
  for (let d = resolve(dir); ; d = dirname(d)) {
    await chmod(d, 0o700);
    if (d === resolve(first) || d === dirname(d)) break;
  }
}

function exists(path: string, flag: string): CupsError {
  return conflict('file_exists', `${path} already exists; refusing to overwrite it. Move it away, choose another folder, or pass ${flag} to replace it`, { path });
}

/**
 * Refuses before anything is changed when a file to be written is already
 * there (unless `replace`) or is a symlink or not a regular file (always):
 * commands that issue a credential check this before issuing, so a refusal
 * costs nothing.
 */
export async function checkPrivateTargets(paths: readonly string[], replace: boolean, flag = '--force'): Promise<void> {
  for (const path of paths) {
    let info;
    try {
      info = await lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    if (info.isSymbolicLink() || !info.isFile()) {
      throw invalid('unsafe_file', `${path} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; refusing to write a credential there. Remove it or choose another folder`, { path });
    }
    if (!replace) throw exists(path, flag);
  }
}

/** Writes `data` to a new file at `path`, 0600; with `replace` an existing regular file is replaced atomically. */
export async function writePrivateFile(path: string, data: string | Uint8Array, options: { readonly replace?: boolean; readonly flag?: string } = {}): Promise<void> {
  if (options.replace !== true) {
    await createExclusive(path, data, options.flag ?? '--force');
    return;
  }
  await checkPrivateTargets([path], true);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await createExclusive(temp, data, '--force');
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
}

async function createExclusive(path: string, data: string | Uint8Array, flag: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, CREATE, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // EEXIST: something is there (a dangling link too); ELOOP: a link O_NOFOLLOW would not follow.
    if (code === 'EEXIST' || code === 'ELOOP') {
      await checkPrivateTargets([path], false, flag);
      throw exists(path, flag);
    }
    throw e;
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(data);
    await handle.sync();
  } catch (e) {
    await handle.close();
    // Made by this call: a half-written credential must not be left to be taken for a whole one.
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await handle.close();
}

/** A credential written beside its final name, not yet in place (see stagePrivateFile). */
export interface StagedFile {
  readonly path: string;
  /** Puts it in place: atomically over an existing file with `replace`, else only if the name is still free. */
  commit(replace: boolean): Promise<void>;
  /** Removes the staged copy (after a refusal or failure). */
  discard(): Promise<void>;
}

/**
 * Writes `data` to a new owner-only file next to `path`, for a caller that
 * must record something (an audit row) between writing and publishing:
 * publishing is then one rename (or link, when nothing may be replaced).
 */
export async function stagePrivateFile(path: string, data: string | Uint8Array): Promise<StagedFile> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await createExclusive(temp, data, '--force');
  return {
    path,
    async commit(replace) {
      if (replace) {
        await checkPrivateTargets([path], true);
        await rename(temp, path);
        return;
      }
      try {
        await link(temp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw exists(path, '--force');
        throw e;
      }
      await unlink(temp);
    },
    discard: () => unlink(temp).catch(() => undefined),
  };
}
