/**
 * The server's cap on firmware downloads in flight (`serve --max-concurrent-downloads`):
 * a station over it gets the rest of its answer now and the firmware at a later call
 * (core/firmware-delivery.ts deferFirmware), never an error status, which would
 * send it to its backup credentials (PROTOCOL.md 5.3). Counted in this process;
 * synchronous, so the exchange takes a slot without an await.
 */
export interface DownloadSlots {
  /** The cap; null: no cap (downloads are still counted, for `rollout show`). */
  readonly max: number | null;
  /** Downloads streaming now. */
  inFlight(): number;
  /** Takes a slot; false when the cap is reached. */
  tryTake(): boolean;
  /** Gives back a slot taken (once per successful tryTake). */
  release(): void;
}

export function createDownloadSlots(max: number | null): DownloadSlots {
  let busy = 0;
  return {
    max,
    inFlight: () => busy,
    tryTake() {
      if (max !== null && busy >= max) return false;
      busy += 1;
      return true;
    },
    release() {
      busy = Math.max(0, busy - 1);
    },
  };
}
