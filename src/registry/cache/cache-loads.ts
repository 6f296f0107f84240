import type { Kysely } from 'kysely';
import type { StationAuth, StationAuthMode, StationToken } from '../auth-types.js';
import type { RegistryDatabase } from '../db-schema.js';
import { selectStationAuth, toCertificate, toRotation, toToken } from '../station-auth.js';
import type { AuthEntry } from './registry-memory.js';

// The reads that fill the cache: one station's auth with its token hashes, and the whole fleet at start.

type Db = Kysely<RegistryDatabase>;

/** A station's auth record and token hashes; undefined when the station is not registered. */
export async function loadAuthEntry(db: Db, eui: string): Promise<AuthEntry | undefined> {
  const [auth, hashes] = await Promise.all([
    selectStationAuth(db, eui),
    db.selectFrom('station_tokens').select(['id', 'hash']).where('eui', '=', eui).execute(),
  ]);
  if (auth === undefined) return undefined;
  return entry(auth, hashes);
}

/** Every station's auth record, as loadAuthEntry would return each (same orderings). */
export async function loadAllAuthEntries(db: Db): Promise<AuthEntry[]> {
  const [stations, certificates, tokens, rotations] = await Promise.all([
    db
      .selectFrom('stations')
      .leftJoin('station_auth', 'station_auth.eui', 'stations.eui')
      .select(['stations.eui as eui', 'station_auth.mode as mode'])
      .execute(),
    db.selectFrom('station_certificates').selectAll().orderBy('eui').orderBy('created_at').orderBy('fingerprint').execute(),
    db.selectFrom('station_tokens').selectAll().orderBy('eui').orderBy('created_at').orderBy('id').execute(),
    db.selectFrom('station_rotations').selectAll().orderBy('eui').orderBy('category').execute(),
  ]);
  const group = <T extends { eui: string }>(rows: readonly T[]) => {
    const by = new Map<string, T[]>();
    for (const row of rows) {
      const list = by.get(row.eui);
      if (list === undefined) by.set(row.eui, [row]);
      else list.push(row);
    }
    return by;
  };
  const certs = group(certificates);
  const toks = group(tokens);
  const rots = group(rotations);
  return stations.map((s) => {
    const own = toks.get(s.eui) ?? [];
    const auth: StationAuth = {
      eui: s.eui,
      mode: (s.mode ?? 'none') as StationAuthMode,
      certificates: (certs.get(s.eui) ?? []).map(toCertificate),
      tokens: own.map(toToken),
      rotations: (rots.get(s.eui) ?? []).map(toRotation),
    };
    return entry(auth, own);
  });
}

function entry(auth: StationAuth, hashes: readonly { readonly id: string; readonly hash: string }[]): AuthEntry {
  const byId = new Map<string, StationToken>(auth.tokens.map((t) => [t.id, t]));
  const tokens = new Map<string, StationToken>();
  for (const { id, hash } of hashes) {
    const token = byId.get(id);
    // A token issued between the two reads has a hash but no record: it is simply not held.
    if (token !== undefined) tokens.set(hash, token);
  }
  return { auth, tokens };
}
