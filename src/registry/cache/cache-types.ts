import type { StationAuth, StationToken } from '../auth-types.js';
import type { Station, StationRegistry } from '../types.js';

/** Options of the cached registry. */
export interface RegistryCacheOptions {
  /** Last-seen stamps are written together this often; 0 writes each one at once. */
  readonly lastSeenIntervalMs: number;
  readonly logger?: { warn(obj: object, msg?: string): void } | undefined;
}

/** What the cache holds and whether it may be trusted, for health output and tests. */
export interface RegistryCacheState {
  /** The change feed is delivering: records are answered from memory. */
  readonly live: boolean;
  readonly stations: number;
  readonly auth: number;
  /** Last-seen stamps not yet written. */
  readonly pendingLastSeen: number;
  /** How many times the change feed was lost (each time the whole cache was dropped). */
  readonly losses: number;
}

/**
 * The synchronous read path of the cached registry, for the update-info hot
 * path: each answers from memory or returns undefined, never touching the
 * database. undefined means "not known here right now" (not loaded, changed
 * since, an unregistered EUI, or the change feed is down): then ask the async
 * method, which reads the database and fills the cache.
 */
export interface RegistryPeek {
  /**
   * The station twin if held and current, for deciding an answer. Its lastSeenAt
   * is the one loaded with it (or that of a stamp let go after an idle interval):
   * stamps this process took since are shown by getStation, not here, so a
   * poll changes no held station.
   */
  peekStation(eui: string): Station | undefined;
  /** The station's auth record (mode, certificates, tokens, rotations) if held and current. */
  peekStationAuth(eui: string): StationAuth | undefined;
  /** The token with this SHA-256 secret hash if its station's auth record is held and current. */
  peekToken(hash: string): StationToken | undefined;
  /**
   * Buffers a last-seen stamp for a station held in memory, without an await;
   * false when it cannot be buffered (not held, or stamps are written at once):
   * then call touchStation. Call it after peekStation found the station: it reads
   * the memory without polling the change feed again, and copies what it keeps from `seen`.
   */
  stampSeen(eui: string, seen: { readonly at: Date; readonly remoteAddress: string | null }): boolean;
  /**
   * Epoch ms of the station's latest exchange this process knows of (the held
   * twin's last-seen or a stamp of its own not yet written), -1 when none; call
   * after peekStation found the station. Another replica may have seen it since.
   */
  peekLastSeen(eui: string): number;
  /** What the cache holds and whether it is live. */
  cacheState(): RegistryCacheState;
}

/** A StationRegistry that serves stations and their auth from memory, plus the synchronous peek path. */
export type CachedStationRegistry = StationRegistry & RegistryPeek;
