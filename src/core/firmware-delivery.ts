import type { FirmwareSignature, FirmwareTarget, NewEvent } from './model.js';

/** How the response carrying a firmware update ended. */
export interface DeliveryOutcome {
  /** The whole body was written to the connection. */
  readonly complete: boolean;
  /** Update bytes written before the end (all of them when complete). */
  readonly bytesSent: number;
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
): { readonly offered?: string; readonly events: readonly NewEvent[] } {
  const { target, signature } = offer;
  const pkg = target.package;
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
