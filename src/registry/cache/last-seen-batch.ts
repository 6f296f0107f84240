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

/** A station's latest stamp in this process, changed in place at every poll (see LastSeenBatch). */
interface Slot {
  readonly eui: string;
  /** Epoch milliseconds of the latest stamp. */
  at: number;
  remoteAddress: string | null;
  /** A stamp newer than what was written is waiting (the slot is in the dirty list). */
  dirty: boolean;
  /** Whether a stamp arrived since the last flush: a slot idle for a whole interval is let go. */
  touched: boolean;
}

/**
 * Last-seen stamps of polls that changed nothing else, kept in memory and
 * written together: one statement per interval (per 1,000 stations) instead of
 * one per poll. A crash loses at most one interval of stamps, which only say
 * when a station last talked; everything an exchange changes is still written
 * in its own transaction before the answer.
 *
 * A poll allocates nothing that outlives it: each station has one slot,
 * changed in place (a number and, when it moved, the address), so a station
 * polling every interval does not promote a new stamp object to the old
 * generation each time for the garbage collector to sweep. A slot that saw no
 * poll for a whole interval is let go, its stamp handed to `onRetired` (the
 * cache puts it on the station it holds).
 */
export class LastSeenBatch {
  readonly #slots = new Map<string, Slot>();
  #dirty: Slot[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly flavour: SqlFlavour,
    private readonly onRetired: (eui: string, seen: Seen) => void,
  ) {}

  /** How many stations have a stamp waiting. */
  get size(): number {
    return this.#dirty.length;
  }

  /** The latest stamp this process took for `eui` (written or not), if it still holds one. */
  pending(eui: string): Seen | undefined {
    const slot = this.#slots.get(eui);
    return slot === undefined ? undefined : { at: new Date(slot.at), remoteAddress: slot.remoteAddress };
  }

  add(eui: string, seen: Seen): void {
    const at = seen.at.getTime();
    const slot = this.#slots.get(eui);
    if (slot === undefined) {
      const fresh: Slot = { eui, at, remoteAddress: seen.remoteAddress, dirty: true, touched: true };
      this.#slots.set(eui, fresh);
      this.#dirty.push(fresh);
      return;
    }
    // A stamp never moves last-seen backwards.
    if (at < slot.at) return;
    slot.at = at;
    // The same address as a new string keeps the old one: nothing young is stored into the slot.
    if (slot.remoteAddress !== seen.remoteAddress) slot.remoteAddress = seen.remoteAddress;
    slot.touched = true;
    if (!slot.dirty) {
      slot.dirty = true;
      this.#dirty.push(slot);
    }
  }

  /**
   * Writes what is pending; on failure the stamps stay pending for the next
   * try, and the error is thrown. A stamp never moves last-seen backwards:
   * another replica may have written a later one.
   */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    this.#retireIdle();
    if (this.#dirty.length === 0) return;
    const batch = this.#dirty;
    this.#dirty = [];
    // Taken now, flat (eui, at, address per row): a poll while a statement runs marks its slot dirty again, with its newer stamp.
    const values: unknown[] = [];
    for (const slot of batch) {
      slot.dirty = false;
      values.push(slot.eui, slot.at, slot.remoteAddress);
    }
    for (let row = 0; row < batch.length; row += ROWS_PER_STATEMENT) {
      const count = Math.min(ROWS_PER_STATEMENT, batch.length - row);
      const shape = padded(count);
      const params = values.slice(row * 3, (row + count) * 3);
      // The last row repeated up to the shape: it updates the same station to the same values.
      for (let extra = count; extra < shape; extra++) params.push(...params.slice((count - 1) * 3, count * 3));
      try {
        await this.db.executeQuery(CompiledQuery.raw(stampStatement(this.flavour, shape), params));
      } catch (e) {
        for (const slot of batch.slice(row)) {
          if (slot.dirty) continue;
          slot.dirty = true;
          this.#dirty.push(slot);
        }
        throw e;
      }
    }
  }

  /** Lets go of the slots no poll touched since the last flush (written already: nothing is lost). */
  #retireIdle(): void {
    for (const slot of this.#slots.values()) {
      if (slot.touched) slot.touched = false;
      else if (!slot.dirty) {
        this.#slots.delete(slot.eui);
        this.onRetired(slot.eui, { at: new Date(slot.at), remoteAddress: slot.remoteAddress });
      }
    }
  }
}

/**
 * The row count rounded up to the next power of two: the statement text then
 * takes one of 11 shapes instead of one per batch size, so SQLite's kept
 * statements (sqlite-statement-cache.ts) are not flushed out by stamps.
 */
function padded(rows: number): number {
  let size = 1;
  while (size < rows) size *= 2;
  return size;
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
