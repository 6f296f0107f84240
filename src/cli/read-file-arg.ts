import { access, constants, readFile, stat } from 'node:fs/promises';
import { invalid } from '../core/errors.js';

/** Reads the file a command-line argument names; an unreadable one is `unreadable_file` naming the argument. */
export async function readFileArg(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw invalid('unreadable_file', `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { field: flag });
  }
}

/** Checks that the file a command-line argument names is a readable file, to be streamed later; the error as readFileArg's. */
export async function readableFileArg(path: string, flag: string): Promise<string> {
  try {
    await access(path, constants.R_OK);
    if (!(await stat(path)).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    return path;
  } catch (e) {
    throw invalid('unreadable_file', `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { field: flag });
  }
}
