import { join } from 'node:path';
import { invalid } from '../../../core/errors.js';
import type { Issued } from '../../../http/admin/action-schemas.js';
import type { z } from 'zod';
import { readFileArg } from '../../read-file-arg.js';
import { ensureDir, writePkiFile } from '../pki/pki-dir.js';

/** Writes the station's credential files for first provisioning; keys and tokens readable by the owner only. */
export async function writeStationFiles(dir: string, files: NonNullable<z.infer<typeof Issued>['stationFiles']>): Promise<string[]> {
  await ensureDir(dir);
  const written: string[] = [];
  for (const c of files) {
    for (const [ext, data, secret] of [
      ['trust', c.trust, false],
      ['crt', c.crt, false],
      ['key', c.key, true],
    ] as const) {
      const path = join(dir, `${c.category}.${ext}`);
      await writePkiFile(path, Buffer.from(data, 'base64'), secret);
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
