import type { StationAuth, StationToken } from '../auth-types.js';
import type { Station } from '../types.js';
import type { ChangeKind } from './change-feed.js';

/** A station's authentication record with the hashes of its tokens, so token look-ups can be answered too. */
export interface AuthEntry {
  readonly auth: StationAuth;
  /** SHA-256 hash → token, for every token of the station. */
  readonly tokens: ReadonlyMap<string, StationToken>;
}

/**
 * The records held in memory, and the rule that keeps them honest: a record
 * read from the database is stored only if nothing about its station was
 * invalidated since the read began. Every invalidation advances a clock and
 * stamps the station (its generation); a reader takes the clock before it reads
 * (`stamp()`) and stores with that stamp, which is refused when the station's
 * generation, or the floor set by forgetAll(), is newer. A read that raced a
 * write is therefore answered but never kept.
 */
export class RegistryMemory {
  readonly #stations = new Map<string, Station>();
  readonly #auth = new Map<string, AuthEntry>();
  readonly #tokens = new Map<string, StationToken>();
  readonly #generations = new Map<string, number>();
  #clock = 0;
  #floor = 0;
  #live = false;

  /** Whether records may be kept: the change feed is delivering. */
  get live(): boolean {
    return this.#live;
  }

  /** How many stations and auth records are held. */
  get size(): { readonly stations: number; readonly auth: number } {
    return { stations: this.#stations.size, auth: this.#auth.size };
  }

  /** Taken before a database read; pass it to put…() with what was read. */
  stamp(): number {
    return this.#clock;
  }

  station(eui: string): Station | undefined {
    return this.#stations.get(eui);
  }

  auth(eui: string): AuthEntry | undefined {
    return this.#auth.get(eui);
  }

  token(hash: string): StationToken | undefined {
    return this.#tokens.get(hash);
  }

  putStation(station: Station, stamp: number): void {
    if (this.#keeps(station.eui, stamp)) this.#stations.set(station.eui, station);
  }

  putAuth(entry: AuthEntry, stamp: number): void {
    const eui = entry.auth.eui;
    if (!this.#keeps(eui, stamp)) return;
    this.#dropAuth(eui);
    this.#auth.set(eui, entry);
    for (const [hash, token] of entry.tokens) this.#tokens.set(hash, token);
  }

  /** Replaces a held station (e.g. with a newer last-seen stamp) without loading; no-op when not held. */
  replaceStation(eui: string, update: (s: Station) => Station): void {
    const held = this.#stations.get(eui);
    if (held !== undefined) this.#stations.set(eui, update(held));
  }

  /** Station `eui` changed (`s` twin, `a` auth, `b` both): drop what is held and refuse reads already under way. */
  forget(eui: string, kind: ChangeKind): void {
    this.#generations.set(eui, ++this.#clock);
    if (kind !== 'a') this.#stations.delete(eui);
    if (kind !== 's') this.#dropAuth(eui);
  }

  /** Anything may have changed: drop everything and refuse every read under way. */
  forgetAll(): void {
    this.#floor = ++this.#clock;
    this.#stations.clear();
    this.#auth.clear();
    this.#tokens.clear();
    // Generations below the floor no longer matter.
    this.#generations.clear();
  }

  /** The feed is (or is no longer) delivering every change; either way, what was held before cannot be trusted. */
  setLive(live: boolean): void {
    this.forgetAll();
    this.#live = live;
  }

  #keeps(eui: string, stamp: number): boolean {
    return this.#live && stamp >= this.#floor && (this.#generations.get(eui) ?? 0) <= stamp;
  }

  #dropAuth(eui: string): void {
    const entry = this.#auth.get(eui);
    if (entry === undefined) return;
    this.#auth.delete(eui);
    for (const hash of entry.tokens.keys()) this.#tokens.delete(hash);
  }
}
