import { join } from 'node:path';
import { invalid } from '../../../core/errors.js';
import type { Issued } from '../../../http/admin/action-schemas.js';
import type { z } from 'zod';
import { readFileArg } from '../../read-file-arg.js';
import { checkPrivateTargets, ensurePrivateDir, writePrivateFile } from '../../../pki/private-files.js';

const EXTENSIONS = ['trust', 'crt', 'key'] as const;

/** The files `--out DIR` receives for these categories. */
export function stationFilePaths(dir: string, which: 'cups' | 'tc' | 'both'): string[] {
  const categories = which === 'both' ? ['cups', 'tc'] : [which];
  return categories.flatMap((c) => EXTENSIONS.map((ext) => join(dir, `${c}.${ext}`)));
}

/**
 * Before anything is issued: the --out folder exists (0700 when made here) and
 * none of the files goes onto a symlink, or onto an existing file without
 * --force (private-files.ts). Refused here, the command changes nothing.
 */
export async function prepareStationFiles(dir: string, which: 'cups' | 'tc' | 'both', replace: boolean): Promise<void> {
  await ensurePrivateDir(dir);
  await checkPrivateTargets(stationFilePaths(dir, which), replace);
}

/** Writes the station's credential files for first provisioning: created exclusively, owner-only (0600). */
export async function writeStationFiles(dir: string, files: NonNullable<z.infer<typeof Issued>['stationFiles']>, replace: boolean): Promise<string[]> {
  const written: string[] = [];
  for (const c of files) {
    for (const [ext, data] of [
      ['trust', c.trust],
      ['crt', c.crt],
      ['key', c.key],
    ] as const) {
      const path = join(dir, `${c.category}.${ext}`);
      await writePrivateFile(path, Buffer.from(data, 'base64'), { replace });
      written.push(path);
    }
  }
  return written;
}

/** `--for cups|tc|both`, checked before anything is asked of the server. */
export function forOption(value: string | undefined): 'cups' | 'tc' | 'both' {
  const v = value ?? 'cups';
  if (v === 'cups' || v === 'tc' || v === 'both') return v;
  throw invalid('invalid_category', `--for must be cups, tc or both, got "${value}"`, { field: '--for' });
}

/** A certificate or key file for the API: PEM as text, DER as base64 (PEM carries its own armour). */
export async function fileArgText(path: string, flag: string): Promise<string> {
  const bytes = await readFileArg(path, flag);
  const text = bytes.toString('utf8');
  return text.includes('-----BEGIN') ? text : bytes.toString('base64');
}
