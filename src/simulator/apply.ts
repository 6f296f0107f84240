import { rename, rm, writeFile } from 'node:fs/promises';
import { writePrivateFile } from '../pki/private-files.js';
import { join } from 'node:path';
import { isCupsError } from '../core/errors.js';
import { parseCredentialBlob, stationFilesOf } from '../protocol/index.js';
import type { DecodedResponse } from '../protocol/types.js';
import { CRED_EXTENSIONS, type CredCategory } from './home.js';

/** Names of the configuration parts a response changed, in the order the station applies them. */
export type AppliedPart = 'cupsUri' | 'tcUri' | 'cupsCred' | 'tcCred' | 'update';

const CATEGORIES: readonly CredCategory[] = ['cups', 'tc'];
const TEMP_FILES = [...CRED_EXTENSIONS, 'uri'] as const;

/**
 * Applies the URI and credential segments of a response the way the station does
 * (sys.c): stale `-temp` files are removed, new values go to `{cat}-temp.*`, then a
 * `{cat}-temp.upd` marker is written, the temp files are renamed over the regular
 * ones and the marker is removed. The station rolls an interrupted rename forward at
 * start-up and keeps `-bak`/`-boot` sets for failure rotation; the simulator does
 * neither (one process, one regular set), which no server-visible behaviour depends on.
 */
export async function applyConfig(home: string, response: DecodedResponse, log: (line: string) => void): Promise<AppliedPart[]> {
  await resetTempFiles(home);
  const applied: AppliedPart[] = [];
  const touched = new Set<CredCategory>();

  if (response.cupsUri !== null) {
    await writeFile(join(home, 'cups-temp.uri'), response.cupsUri);
    log(`CUPS URI updated: ${response.cupsUri}`);
    applied.push('cupsUri');
    touched.add('cups');
  }
  if (response.tcUri !== null) {
    await writeFile(join(home, 'tc-temp.uri'), response.tcUri);
    log(`TC URI updated: ${response.tcUri}`);
    applied.push('tcUri');
    touched.add('tc');
  }
  for (const [cat, blob, part] of [
    ['cups', response.cupsCred, 'cupsCred'],
    ['tc', response.tcCred, 'tcCred'],
  ] as const) {
    if (blob === null) continue;
    touched.add(cat);
    if (await writeCredentialTemp(home, cat, blob, log)) applied.push(part);
  }
  for (const cat of CATEGORIES) {
    if (touched.has(cat)) await commitCategory(home, cat);
  }
  return applied;
}

/** sys_resetConfigUpdate: leftovers of an interrupted exchange must not be committed with this one. */
async function resetTempFiles(home: string): Promise<void> {
  for (const cat of CATEGORIES) {
    await rm(join(home, `${cat}-temp.upd`), { force: true });
    for (const ext of TEMP_FILES) await rm(join(home, `${cat}-temp.${ext}`), { force: true });
  }
}

/**
 * sys_credComplete: the blob is split with the station's DER length rules and each
 * element written to its own file. An absent cert or key becomes an EMPTY file, as
 * the station writes it: the reported CRC still counts it as 00 00 00 00 (so it equals
 * crc32(blob) for a normalised blob), and an empty file reads as "absent" when the
 * auth mode is derived, where a file holding 4 zero bytes would wrongly count as a cert.
 */
async function writeCredentialTemp(home: string, cat: CredCategory, blob: Buffer, log: (line: string) => void): Promise<boolean> {
  let parts;
  try {
    parts = parseCredentialBlob(blob);
  } catch (e) {
    if (!isCupsError(e)) throw e;
    // The station ignores the blob but still counts the exchange as a success.
    log(`Failed to parse ${cat} credentials! Lengths do not align segment_len=${blob.length} (${e.message}). Ignoring.`);
    return false;
  }
  const files = stationFilesOf(parts);
  for (const [ext, data] of [
    ['trust', files.trust],
    ['crt', files.cert],
    ['key', files.key],
  ] as const) {
    // Removed by resetTempFiles first, so created anew, owner-only, never through a planted link.
    await writePrivateFile(join(home, `${cat}-temp.${ext}`), data ?? Buffer.alloc(0));
  }
  log(`${cat === 'cups' ? 'CUPS' : 'TC'} credentials updated (${blob.length} bytes)`);
  return true;
}

/** updateConfigFiles: marker, renames, marker removal, so a crash between renames can be rolled forward. */
async function commitCategory(home: string, cat: CredCategory): Promise<void> {
  const marker = join(home, `${cat}-temp.upd`);
  await writeFile(marker, '');
  for (const ext of TEMP_FILES) {
    try {
      await rename(join(home, `${cat}-temp.${ext}`), join(home, `${cat}.${ext}`));
    } catch (e) {
      // Only the parts this response carried have a temp file.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  await rm(marker, { force: true });
}
