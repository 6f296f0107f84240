import { join } from 'node:path';
import { invalid, notFound } from '../../../core/errors.js';
import type { IssuedCredential } from '../../../operations/credentials.js';
import type { CredentialCategory, StationAuth } from '../../../registry/auth-types.js';
import type { Station } from '../../../registry/types.js';
import type { Runtime } from '../../../runtime.js';
import { ensureDir, writePkiFile } from '../pki/pki-dir.js';

/** The registered station with its auth record; not_found when it is not registered. */
export async function loadStation(rt: Runtime, eui: string): Promise<{ station: Station; auth: StationAuth }> {
  const [station, auth] = await Promise.all([rt.registry.getStation(eui), rt.registry.getStationAuth(eui)]);
  if (station === undefined || auth === undefined) {
    throw notFound('station_not_found', `station ${eui} is not registered; register it with "bscups station add ${eui}" first`);
  }
  return { station, auth };
}

/** Writes the station's credential files for first provisioning; keys and tokens readable by the owner only. */
export async function writeStationFiles(dir: string, credentials: readonly IssuedCredential[]): Promise<string[]> {
  await ensureDir(dir);
  const written: string[] = [];
  for (const c of credentials) {
    for (const [ext, data, secret] of [
      ['trust', c.files.trust, false],
      ['crt', c.files.crt, false],
      ['key', c.files.key, true],
    ] as const) {
      const path = join(dir, `${c.category}.${ext}`);
      await writePkiFile(path, data, secret);
      written.push(path);
    }
  }
  return written;
}

/** `--for cups|tc|both` as the categories to issue, CUPS first. */
export function categoriesOf(value: string | undefined): CredentialCategory[] {
  switch (value ?? 'cups') {
    case 'cups':
      return ['cups'];
    case 'tc':
      return ['tc'];
    case 'both':
      return ['cups', 'tc'];
    default:
      throw invalid('invalid_category', `--for must be cups, tc or both, got "${value}"`, { field: '--for' });
  }
}

