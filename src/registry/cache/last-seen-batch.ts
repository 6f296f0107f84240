import { CompiledQuery, type Kysely } from 'kysely';
import type { SqlFlavour } from '../migrations.js';
import type { RegistryDatabase } from '../db-schema.js';

/** A last-seen stamp waiting to be written. */
export interface Seen {
  readonly at: Date;
  readonly remoteAddress: string | null;
}

/** Rows per statement (a power of two, see padded()): far under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const ROWS_PER_STATEMENT = 1_024;

/**
 * Last-seen stamps of polls that changed nothing else, kept in memory and
 * written together: one statement per interval (per 1,000 stations) instead of
 * one per poll. A crash loses at most one interval of stamps, which only say
 * when a station last talked; everything an exchange changes is still written
 * in its own transaction before the answer.
 */
export class LastSeenBatch {
  #pending = new Map<string, Seen>();
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly flavour: SqlFlavour,
    private readonly onWritten: (eui: string, seen: Seen) => void,
  ) {}

  /** How many stations have a stamp waiting. */
  get size(): number {
    return this.#pending.size;
  }

  /** The stamp not yet written for `eui`, if any. */
  pending(eui: string): Seen | undefined {
    return this.#pending.get(eui);
  }

  add(eui: string, seen: Seen): void {
    const held = this.#pending.get(eui);
    if (held === undefined || held.at.getTime() <= seen.at.getTime()) this.#pending.set(eui, seen);
  }

  /**
   * Writes what is pending; on failure the stamps go back into the batch (unless
   * newer ones arrived) for the next try, and the error is thrown. A stamp never
   * moves last-seen backwards: another replica may have written a later one.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = [...this.#pending];
    this.#pending = new Map();
    for (let i = 0; i < batch.length; i += ROWS_PER_STATEMENT) {
      const rows = batch.slice(i, i + ROWS_PER_STATEMENT);
      try {
        const all = padded(rows);
        const params: unknown[] = [];
        for (const [eui, s] of all) params.push(eui, s.at.getTime(), s.remoteAddress);
        await this.db.executeQuery(CompiledQuery.raw(stampStatement(this.flavour, all.length), params));
      } catch (e) {
        for (const [eui, seen] of batch.slice(i)) this.add(eui, seen);
        throw e;
      }
      for (const [eui, seen] of rows) this.onWritten(eui, seen);
    }
  }
}

/**
 * The rows, the last repeated up to the next power of two: the statement text
 * then takes one of 11 shapes instead of one per batch size, so SQLite's kept
 * statements (sqlite-statement-cache.ts) are not flushed out by stamps. A
 * repeated row updates the same station to the same values.
 */
function padded<T>(rows: readonly T[]): readonly T[] {
  let size = 1;
  while (size < rows.length) size *= 2;
  const last = rows[rows.length - 1] as T;
  return size === rows.length ? rows : [...rows, ...Array.from({ length: size - rows.length }, () => last)];
}

/** The statement text per flavour and row count: built once per shape, not compiled per flush (the flush runs on the server's thread). */
const statements = new Map<string, string>();

function stampStatement(flavour: SqlFlavour, rows: number): string {
  const key = `${flavour} ${rows}`;
  let text = statements.get(key);
  if (text === undefined) {
    let n = 0;
    const p = (): string => (flavour === 'postgres' ? `$${++n}` : '?');
    // Casts give PostgreSQL the parameter types; SQLite takes them as affinities.
    const values = Array.from({ length: rows }, () => `(${p()}, cast(${p()} as bigint), cast(${p()} as text))`).join(', ');
    text =
      `with seen (eui, at, addr) as (values ${values}) ` +
      'update stations set last_seen_at = seen.at, last_remote_address = seen.addr from seen ' +
      'where stations.eui = seen.eui and (stations.last_seen_at is null or stations.last_seen_at < seen.at)';
    statements.set(key, text);
  }
  return text;
}
