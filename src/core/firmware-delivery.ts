import type { FirmwareSignature, FirmwareTarget, NewEvent } from './model.js';
import type { Decision } from './decide.js';

/** How the response carrying a firmware update ended. */
export interface DeliveryOutcome {
  /** The whole body was written to the connection. */
  readonly complete: boolean;
  /** Update bytes written before the end (all of them when complete). */
  readonly bytesSent: number;
  /** The SHA-256 of the bytes read from the store, when it was not the upload's: the download was cut before its last chunk. */
  readonly mismatch?: string;
}

/**
 * Why an update whose stored bytes are not the ones uploaded is not offered
 * (again): the target fails with this, so no station runs bytes nobody signed
 * off, and nothing is offered until the update is stored again and retried.
 */
export function brokenUpdateError(target: Pick<FirmwareTarget, 'package' | 'blob' | 'sha256'>, found: string): string {
  return (
    `firmware ${target.package}: blob ${target.blob} in the blob store has SHA-256 ${found}, not the ${target.sha256} of the upload ` +
    `(changed in place); not offered again: upload the update again, then run "bscups firmware retry" for the stations`
  );
}

/** The target transition and event of an update found broken (see brokenUpdateError). */
export function brokenUpdate(target: Pick<FirmwareTarget, 'package' | 'blob' | 'sha256'>, found: string): { readonly lastError: string; readonly event: NewEvent } {
  const lastError = brokenUpdateError(target, found);
  return { lastError, event: { type: 'firmware_failed', message: lastError, detail: { package: target.package, blob: target.blob, sha256: target.sha256, found } } };
}

/**
 * What to record when a firmware download ends. Only a download whose every
 * byte was written counts as an offer: a station that hung up, or a server that
 * stopped mid-stream, never got an update it could run, and counting it would
 * push the target to failed after maxOffers interruptions. A cut-off download
 * is recorded as its own event, with how far it got.
 */
export function firmwareDelivery(
  offer: { readonly target: FirmwareTarget; readonly signature: FirmwareSignature },
  outcome: DeliveryOutcome,
): { readonly offered?: string; readonly broken?: { readonly package: string; readonly lastError: string }; readonly events: readonly NewEvent[] } {
  const { target, signature } = offer;
  const pkg = target.package;
  if (outcome.mismatch !== undefined) {
    const broken = brokenUpdate(target, outcome.mismatch);
    return {
      broken: { package: pkg, lastError: broken.lastError },
      events: [
        {
          type: 'firmware_interrupted',
          message: `download of package ${pkg} cut off after ${outcome.bytesSent} of ${target.size} bytes: the stored update is not the one uploaded; not counted as an offer`,
          detail: { package: pkg, bytesSent: outcome.bytesSent, size: target.size },
        },
        broken.event,
      ],
    };
  }
  if (!outcome.complete) {
    return {
      events: [
        {
          type: 'firmware_interrupted',
          message: `download of package ${pkg} cut off after ${outcome.bytesSent} of ${target.size} bytes; not counted as an offer`,
          detail: { package: pkg, bytesSent: outcome.bytesSent, size: target.size },
        },
      ],
    };
  }
  return {
    offered: pkg,
    events: [
      {
        type: 'firmware_offered',
        message: `offered package ${pkg} (offer ${target.offers + 1} of ${target.maxOffers}) signed with key ${signature.keyCrc}`,
        detail: { package: pkg, keyCrc: signature.keyCrc, size: target.size, offer: target.offers + 1 },
      },
    ],
  };
}

/**
 * The decision without its firmware when the server's downloads in flight are at
 * `--max-concurrent-downloads`: everything else is answered now, and the firmware
 * at a later call (the station's next one: its regular check, up to 24 h later for a
 * healthy station, PROTOCOL.md 8). Not a problem of the station and not an offer:
 * only an event saying why it waits.
 */
export function deferFirmware(decision: Decision, max: number): Decision {
  const fw = decision.answer.firmware;
  if (fw === undefined) return decision;
  const { firmware: _deferred, ...answer } = decision.answer;
  void _deferred;
  const message = `firmware ${fw.target.package} deferred: this server already streams ${max} firmware download(s), its --max-concurrent-downloads; offered at the station's next call`;
  return { ...decision, answer, events: [...decision.events, { type: 'firmware_deferred', message, detail: { package: fw.target.package, maxConcurrentDownloads: max } }] };
}
