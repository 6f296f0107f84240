import { stat } from 'node:fs/promises';
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
