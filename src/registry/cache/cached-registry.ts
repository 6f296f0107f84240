import type { StationAuth, StationToken } from '../auth-types.js';
import type { RegistryBackend } from '../backend.js';
import { runOn } from '../db-errors.js';
import type { ExchangeRecord, ExchangeResult, Station, StationRegistry } from '../types.js';
import { loadAllAuthEntries, loadAuthEntry } from './cache-loads.js';
import type { ChangeFeed, ChangeKind } from './change-feed.js';
import { LastSeenBatch, type Seen } from './last-seen-batch.js';
import { kyselyStampWriter, type StampWriter } from './stamp-writer.js';
import { RegistryMemory } from './registry-memory.js';
import type { CachedStationRegistry, RegistryCacheOptions, RegistryCacheState } from './cache-types.js';

export type { CachedStationRegistry, RegistryCacheOptions, RegistryCacheState, RegistryPeek } from './cache-types.js';

/** Which cached records each registry write changes: `s` the twin, `a` auth, `b` both. */
const WRITES: Readonly<Record<string, ChangeKind>> = {
  createStation: 'b',
  removeStation: 'b',
  updateStation: 's',
  setFirmwareTarget: 's',
  updateFirmware: 's',
  // A delivered firmware counts an offer on the target (the twin); a cut-off one changes only events.
  recordFirmwareDelivery: 's',
  setAuthMode: 'a',
  addCertificate: 'a',
  addToken: 'a',
  retireCertificate: 'a',
  retireToken: 'a',
  startRotation: 'a',
  cancelRotation: 'a',
  completeRotation: 'a',
  changeCredentials: 'b',
};

/**
 * The registry cache: the fleet's station and auth records, loaded at start
 * and read back after each change; a record is forgotten when a write of this
 * process that changes it ends, and when the feed reports a change another
 * process (or a store this wrapper does not see) committed. While the feed is
 * down nothing is held and every read goes to the database. Last-seen stamps of
 * held stations are batched (LastSeenBatch). Methods it does not override go to
 * the inner registry unchanged.
 */
class RegistryCache {
  readonly #inner: StationRegistry;
  readonly #backend: RegistryBackend;
  readonly #feed: ChangeFeed;
  readonly #memory = new RegistryMemory();
  readonly #lastSeen: LastSeenBatch;
  readonly #options: RegistryCacheOptions;
  #started: Promise<void> | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #everLive = false;
  #losses = 0;

  constructor(inner: StationRegistry, backend: RegistryBackend, feed: ChangeFeed, options: RegistryCacheOptions, stamps: StampWriter) {
    this.#inner = inner;
    this.#backend = backend;
    this.#feed = feed;
    this.#options = options;
    // A stamp let go by the batch goes onto the station held; until then #overlay shows it.
    this.#lastSeen = new LastSeenBatch(stamps, (eui, seen) => this.#memory.replaceStation(eui, (s) => withSeen(s, seen)));
  }

  async migrate(): Promise<void> {
    await this.#inner.migrate();
    await this.start();
  }

  /** Starts the change feed and loads the fleet; called by migrate(). Until then every read goes to the database. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    await this.#feed.start({
      changed: (eui, kind) => this.#memory.forget(eui, kind),
      lost: () => {
        this.#losses++;
        this.#memory.setLive(false);
      },
      live: () => {
        this.#memory.setLive(true);
        // After a reconnect, fill the cache again in the background; the first load is awaited by start().
        if (this.#everLive) this.#loadFleet().catch((e: unknown) => this.#options.logger?.warn({ err: e }, 'could not reload the registry cache'));
        this.#everLive = true;
      },
    });
    if (this.#memory.live) await this.#loadFleet();
    if (this.#options.lastSeenIntervalMs > 0) {
      this.#flushTimer = setInterval(() => {
        this.#lastSeen.flush().catch((e: unknown) => this.#options.logger?.warn({ err: e }, 'could not write last-seen stamps; retrying at the next interval'));
      }, this.#options.lastSeenIntervalMs);
      this.#flushTimer.unref();
    }
  }

  async #loadFleet(): Promise<void> {
    const stamp = this.#memory.stamp();
    const [stations, auths] = await Promise.all([this.#inner.listStations(), this.#run(() => loadAllAuthEntries(this.#backend.db))]);
    for (const s of stations) this.#memory.putStation(s, stamp);
    for (const a of auths) this.#memory.putAuth(a, stamp);
  }

  /** Writes pending last-seen stamps, stops listening, closes the database. */
  async close(): Promise<void> {
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    try {
      // Twice: stamps added while a timer flush was under way are written by the second.
      await this.#run(() => this.#lastSeen.flush());
      await this.#run(() => this.#lastSeen.flush());
    } finally {
      await this.#lastSeen.close();
      await this.#feed.close();
      await this.#inner.close();
    }
  }

  peekStation(eui: string): Station | undefined {
    this.#feed.poll();
    return this.#memory.station(eui);
  }

  peekStationAuth(eui: string): StationAuth | undefined {
    this.#feed.poll();
    return this.#memory.auth(eui)?.auth;
  }

  peekToken(hash: string): StationToken | undefined {
    this.#feed.poll();
    return this.#memory.token(hash);
  }

  peekLastSeen(eui: string): number {
    const pending = this.#lastSeen.pendingAt(eui);
    const held = this.#memory.station(eui)?.lastSeenAt?.getTime() ?? -1;
    return pending > held ? pending : held;
  }

  cacheState(): RegistryCacheState {
    return { live: this.#memory.live, ...this.#memory.size, pendingLastSeen: this.#lastSeen.size, losses: this.#losses };
  }

  async getStation(eui: string): Promise<Station | undefined> {
    const held = this.peekStation(eui);
    if (held !== undefined) return this.#overlay(held);
    const stamp = this.#memory.stamp();
    const station = await this.#inner.getStation(eui);
    if (station === undefined) return undefined;
    this.#memory.putStation(station, stamp);
    return this.#overlay(station);
  }

  async getStationAuth(eui: string): Promise<StationAuth | undefined> {
    const held = this.peekStationAuth(eui);
    if (held !== undefined) return held;
    const stamp = this.#memory.stamp();
    const entry = await this.#run(() => loadAuthEntry(this.#backend.db, eui));
    if (entry === undefined) return undefined;
    this.#memory.putAuth(entry, stamp);
    return entry.auth;
  }

  async findToken(hash: string): Promise<StationToken | undefined> {
    const held = this.peekToken(hash);
    if (held !== undefined) return held;
    return this.#inner.findToken(hash);
  }

  stampSeen(eui: string, seen: Seen): boolean {
    // The caller has just peeked the station (the change feed polled): the map alone says it is held.
    if (this.#options.lastSeenIntervalMs <= 0 || this.#memory.station(eui) === undefined) return false;
    this.#lastSeen.add(eui, seen);
    return true;
  }

  /** Buffers the stamp of a station held in memory (so known to exist); anything else is written at once. */
  async touchStation(eui: string, seen: Seen): Promise<boolean> {
    this.#feed.poll();
    return this.stampSeen(eui, seen) || this.#inner.touchStation(eui, seen);
  }

  /**
   * Runs a write of the inner registry and then forgets what it changed. After
   * is enough: a read that overlapped the write started with an older stamp, so
   * it is refused or, if it was stored first, dropped by this forget.
   */
  async write(method: string, kind: ChangeKind, args: unknown[]): Promise<unknown> {
    const eui = args[0] as string;
    try {
      return await (this.#inner as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args);
    } finally {
      this.#memory.forget(eui, kind);
    }
  }

  /**
   * An exchange changes the cached twin only when the report changed, a firmware
   * transition, a problem or a health record (core/health.ts) was written; events and last-seen are not cached.
   * Most exchanges that send something (a credential the station has yet to
   * apply) change none of those and keep the station in memory.
   */
  async recordExchange(eui: string, record: ExchangeRecord): Promise<ExchangeResult> {
    let changed = true;
    try {
      const result = await this.#inner.recordExchange(eui, record);
      changed = result.reportedChanged || record.firmware !== undefined || record.problem !== undefined || result.health?.dirty === true;
      if (!changed) {
        const seen = { at: record.at, remoteAddress: record.remoteAddress };
        this.#memory.replaceStation(eui, (s) => ({ ...s, lastSeenAt: seen.at, lastRemoteAddress: seen.remoteAddress }));
      }
      return result;
    } finally {
      if (changed) this.#memory.forget(eui, 's');
    }
  }

  #overlay(station: Station): Station {
    const pending = this.#lastSeen.pending(station.eui);
    return pending === undefined ? station : withSeen(station, pending);
  }

  #run<T>(work: () => Promise<T>): Promise<T> {
    return runOn(this.#backend, undefined, work);
  }
}

function withSeen(station: Station, seen: Seen): Station {
  if (station.lastSeenAt !== null && station.lastSeenAt.getTime() >= seen.at.getTime()) return station;
  return { ...station, lastSeenAt: seen.at, lastRemoteAddress: seen.remoteAddress };
}

const OWN = new Set(['migrate', 'start', 'close', 'peekStation', 'peekStationAuth', 'peekToken', 'stampSeen', 'peekLastSeen', 'cacheState', 'getStation', 'getStationAuth', 'findToken', 'touchStation', 'recordExchange']);

/**
 * Wraps `inner` (a KyselyRegistry on `backend`) with the cache. The result keeps
 * the StationRegistry interface: methods the cache does not know (added to the
 * interface later) go straight to `inner`; such a method that writes a cached
 * record is still seen by the cache, through the change feed that the
 * 0004_change_notify triggers drive. Call migrate() (or start()) to begin caching.
 */
export function createCachedRegistry(
  inner: StationRegistry,
  backend: RegistryBackend,
  feed: ChangeFeed,
  options: RegistryCacheOptions,
  stamps: StampWriter = kyselyStampWriter(backend.db, backend.flavour),
): CachedStationRegistry & { start(): Promise<void> } {
  const cache = new RegistryCache(inner, backend, feed, options, stamps);
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(inner, {
    get(target, prop) {
      const hit = bound.get(prop);
      if (hit !== undefined) return hit;
      let value: unknown;
      if (typeof prop === 'string' && OWN.has(prop)) {
        value = (cache as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!.bind(cache);
      } else if (typeof prop === 'string' && prop in WRITES) {
        const kind = WRITES[prop] as ChangeKind;
        value = (...args: unknown[]) => cache.write(prop, kind, args);
      } else {
        const own = Reflect.get(target, prop, target) as unknown;
        value = typeof own === 'function' ? (own as (...a: unknown[]) => unknown).bind(target) : own;
      }
      bound.set(prop, value);
      return value;
    },
  }) as unknown as CachedStationRegistry & { start(): Promise<void> };
}
