/** One update-info exchange answered with something other than ok. */
export interface RefusedExchange {
  readonly at: string;
  /** The EUI the request named, when it got that far. */
  readonly eui: string | null;
  readonly remoteAddress: string | null;
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/**
 * The last few non-ok answers of this process, newest first, for the
 * dashboard's errors card ("which station, what"). A fixed ring: a flood of bad
 * requests costs the same memory as one, and only error answers write to it.
 */
export class RecentRefusals {
  private readonly ring: (RefusedExchange | undefined)[];
  private next = 0;

  constructor(readonly size = 50) {
    this.ring = new Array<RefusedExchange | undefined>(size);
  }

  note(entry: Omit<RefusedExchange, 'at'>, at = new Date()): void {
    this.ring[this.next] = { ...entry, at: at.toISOString() };
    this.next = (this.next + 1) % this.size;
  }

  /** Newest first. */
  list(): RefusedExchange[] {
    const out: RefusedExchange[] = [];
    for (let i = 1; i <= this.size; i++) {
      const e = this.ring[(this.next - i + this.size) % this.size];
      if (e !== undefined) out.push(e);
    }
    return out;
  }
}
