/** What changed for one station, as the 0004_change_notify triggers announce it. */
export type ChangeKind = 's' | 'a' | 'b';

/** What a change feed tells the cache. */
export interface ChangeListener {
  /** A committed change to station `eui`: `s` its twin, `a` its authentication, `b` both. */
  changed(eui: string, kind: ChangeKind): void;
  /** Changes may have been missed (connection lost, log pruned): nothing cached can be trusted. */
  lost(reason: string): void;
  /** The feed delivers every change again from now on. */
  live(): void;
}

/**
 * Where a registry process learns of changes committed by other processes.
 * `live()` is reported only once the feed is sure to deliver every later change.
 */
export interface ChangeFeed {
  /** Starts delivering to `listener`; resolves once the first live() or lost() was reported. */
  start(listener: ChangeListener): Promise<void>;
  /**
   * Brings the listener up to date synchronously if the feed can (SQLite reads
   * its change log here, at most every few milliseconds); a no-op for a feed that
   * pushes (PostgreSQL).
   */
  poll(): void;
  /** Makes the next poll() look, however recent the last one was (after a write in this process). */
  expire(): void;
  close(): Promise<void>;
}

/** A feed for a database no other process can open (SQLite :memory:): always live, nothing to hear. */
export function privateDatabaseFeed(): ChangeFeed {
  return {
    start: (listener) => {
      listener.live();
      return Promise.resolve();
    },
    poll: () => undefined,
    expire: () => undefined,
    close: () => Promise.resolve(),
  };
}
