import { readFile } from 'node:fs/promises';
import { invalid } from '../core/errors.js';

/** Reads the file a command-line argument names; an unreadable one is `unreadable_file` naming the argument. */
export async function readFileArg(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw invalid('unreadable_file', `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { field: flag });
  }
}
