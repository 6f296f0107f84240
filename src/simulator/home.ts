import { readdir, readFile, rm } from 'node:fs/promises';
import { ensurePrivateDir, writePrivateFile } from '../pki/private-files.js';
import { join } from 'node:path';
import { MAX_STATION_URI_LENGTH, stationCredentialCrc, stationKeyCrcs } from '../protocol/index.js';

/** The two credential categories a station keeps: CUPS and TC (LNS). */
export type CredCategory = 'cups' | 'tc';

/** The three credential file extensions, in the order the station chains their CRC. */
export const CRED_EXTENSIONS = ['trust', 'crt', 'key'] as const;


/** What a station reports about its home folder in an update-info request. */
export interface StationHomeState {
  /** Contents of cups.uri trimmed, or null when missing (or too long for the station). */
  readonly cupsUri: string | null;
  /** Contents of tc.uri trimmed, or null when missing (or too long for the station). */
  readonly tcUri: string | null;
  /** Contents of version.txt trimmed, or null when missing. */
  readonly version: string | null;
  /** Unsigned CRC-32 of each whole sig-N.key, stopping at the first missing index. */
  readonly keys: number[];
  /** CRC chained over cups.trust, cups.crt, cups.key (missing or empty files count as 4 zero bytes). */
  readonly cupsCredCrc: number;
  /** CRC chained over tc.trust, tc.crt, tc.key. */
  readonly tcCredCrc: number;
}

/** The raw credential files of one category; null for a missing or empty file (the station treats both as absent). */
export interface CredentialFiles {
  readonly trust: Buffer | null;
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
}

/** What `initStationHome` writes into a fresh home folder. */
export interface StationHomeInit {
  readonly cupsUri: string;
  readonly tcUri?: string | null;
  readonly version?: string | null;
  readonly cupsTrust?: Uint8Array;
  readonly cupsCrt?: Uint8Array;
  readonly cupsKey?: Uint8Array;
  readonly tcTrust?: Uint8Array;
  readonly tcCrt?: Uint8Array;
  readonly tcKey?: Uint8Array;
  /** Written as sig-0.key, sig-1.key, ... */
  readonly sigKeys?: readonly Uint8Array[];
}

/** Reads a file, or null when it does not exist; any other failure is a real error and propagates. */
export async function readOptionalFile(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The station reads these files as C strings and trims only space, tab, CR and LF from the end. */
function stationString(data: Buffer): string {
  const nul = data.indexOf(0);
  const text = (nul >= 0 ? data.subarray(0, nul) : data).toString('utf8');
  return text.replace(/[ \t\r\n]+$/, '');
}

async function readStationString(path: string): Promise<string | null> {
  const data = await readOptionalFile(path);
  return data === null ? null : stationString(data);
}

/** Reads `{cat}.uri` as sys_uri() does: a URI too long for the station's 128-byte buffer reads as none. */
export async function readUri(home: string, cat: CredCategory): Promise<string | null> {
  const uri = await readStationString(join(home, `${cat}.uri`));
  return uri !== null && uri.length > MAX_STATION_URI_LENGTH ? null : uri;
}

/** Reads sig-0.key, sig-1.key, ... up to the first missing index. */
export async function readSigKeyFiles(home: string): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  for (let i = 0; ; i++) {
    const data = await readOptionalFile(join(home, `sig-${i}.key`));
    if (data === null) return keys;
    keys.push(data);
  }
}

/** Reads the trust/crt/key files of one category. */
export async function readCredentialFiles(home: string, cat: CredCategory): Promise<CredentialFiles> {
  const [trust, cert, key] = await Promise.all(
    CRED_EXTENSIONS.map(async (ext) => {
      const data = await readOptionalFile(join(home, `${cat}.${ext}`));
      return data !== null && data.length > 0 ? data : null;
    }),
  );
  return { trust: trust ?? null, cert: cert ?? null, key: key ?? null };
}

/** Reads everything a station reports from its home folder, exactly as the station reads it. */
export async function readStationHome(home: string): Promise<StationHomeState> {
  const [cupsUri, tcUri, version, sigKeys, cupsFiles, tcFiles] = await Promise.all([
    readUri(home, 'cups'),
    readUri(home, 'tc'),
    readStationString(join(home, 'version.txt')),
    readSigKeyFiles(home),
    readCredentialFiles(home, 'cups'),
    readCredentialFiles(home, 'tc'),
  ]);
  return {
    cupsUri,
    tcUri,
    version,
    keys: stationKeyCrcs(sigKeys),
    cupsCredCrc: stationCredentialCrc(cupsFiles),
    tcCredCrc: stationCredentialCrc(tcFiles),
  };
}

const STATION_FILE = /^(?:(?:cups|tc)(?:-temp)?\.(?:uri|trust|crt|key)|(?:cups|tc)-temp\.upd|version\.txt|sig-\d+\.key|update\.bi[n_])$/;

/** The station files already in `home` (what `initStationHome` would delete); empty when the folder does not exist. */
export async function stationFilesIn(home: string): Promise<string[]> {
  try {
    return (await readdir(home)).filter((name) => STATION_FILE.test(name)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Creates (or resets) a station home folder: every station file not named in `init` is removed. */
export async function initStationHome(home: string, init: StationHomeInit): Promise<void> {
  await ensurePrivateDir(home);
  for (const name of await readdir(home)) {
    if (STATION_FILE.test(name)) await rm(join(home, name), { force: true });
  }
  const files: [string, string | Uint8Array | null | undefined][] = [
    ['cups.uri', init.cupsUri],
    ['tc.uri', init.tcUri],
    ['version.txt', init.version],
    ['cups.trust', init.cupsTrust],
    ['cups.crt', init.cupsCrt],
    ['cups.key', init.cupsKey],
    ['tc.trust', init.tcTrust],
    ['tc.crt', init.tcCrt],
    ['tc.key', init.tcKey],
    ...(init.sigKeys ?? []).map((key, i): [string, Uint8Array] => [`sig-${i}.key`, key]),
  ];
  for (const [name, data] of files) {
    // Created anew (the old ones were removed above): never through a link planted in the folder.
    if (data !== null && data !== undefined) await writePrivateFile(join(home, name), data);
  }
}
