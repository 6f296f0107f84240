import type { StampWriter } from './stamp-writer.js';

/** A last-seen stamp waiting to be written. */
export interface Seen {
  readonly at: Date;
  readonly remoteAddress: string | null;
}

/** Rows per write (one statement or transaction): far under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const ROWS_PER_WRITE = 1_024;

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
    private readonly writer: StampWriter,
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

  /** Epoch ms of the latest stamp this process took for `eui` (written or not), -1 when it holds none; allocates nothing. */
  pendingAt(eui: string): number {
    return this.#slots.get(eui)?.at ?? -1;
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
    for (let row = 0; row < batch.length; row += ROWS_PER_WRITE) {
      try {
        await this.writer.write(values.slice(row * 3, Math.min(batch.length, row + ROWS_PER_WRITE) * 3));
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

  /** Stops the writer; call after the last flush. */
  close(): Promise<void> {
    return this.writer.close();
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
