import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { firmwareDelivery, type DeliveryOutcome } from '../core/firmware-delivery.js';
import type { StationEventStore } from '../registry/event-types.js';
import type { FirmwareSignature, FirmwareTarget } from '../registry/types.js';
import type { ServerMetrics } from './metrics.js';

/**
 * Calls `ended` once, when the response that carries an update closes: complete
 * when every byte was handed to the connection, else with how many update bytes
 * got out (counted from the socket, so bytes still queued in the stream are not).
 * A station reads exactly Content-Length bytes and may hang up at once, before
 * the blob stream has told the response it ended: when every update byte had
 * already gone out, that is a complete download too.
 */
export function watchDelivery(res: ServerResponse, bodyLength: number, updateBytes: number, ended: (outcome: DeliveryOutcome) => void): void {
  const socket = res.socket;
  const before = socket?.bytesWritten ?? 0;
  if (socket === null || socket.destroyed || res.destroyed) {
    // The station hung up while the answer was being prepared: its 'close' has already passed.
    queueMicrotask(() => ended({ complete: false, bytesSent: 0 }));
    return;
  }
  res.once('close', () => {
    if (res.writableFinished) {
      ended({ complete: true, bytesSent: updateBytes });
      return;
    }
    // Node keeps the serialised status line and headers here; they went out first.
    const headers = Buffer.byteLength((res as unknown as { _header?: string | null })._header ?? '', 'latin1');
    const written = (socket?.bytesWritten ?? before) - before - headers;
    const updateWritten = Math.max(0, Math.min(updateBytes, written - (bodyLength - updateBytes)));
    ended({ complete: updateWritten === updateBytes && updateBytes > 0, bytesSent: updateWritten });
  });
}

/**
 * Records how a firmware download ended (see core/firmware-delivery.ts) and
 * logs it: a cut-off download is a warning about the station's connection, not
 * a server error. Never throws: the response is over, there is no one to tell.
 */
export async function recordDelivery(
  deps: { readonly registry: Pick<StationEventStore, 'recordFirmwareDelivery'>; readonly metrics: ServerMetrics; readonly clock: () => Date },
  eui: string,
  offer: { readonly target: FirmwareTarget; readonly signature: FirmwareSignature },
  outcome: DeliveryOutcome,
  log: FastifyBaseLogger,
): Promise<void> {
  const { package: pkg, size } = offer.target;
  if (outcome.mismatch !== undefined) {
    log.error({ eui, package: pkg, blob: offer.target.blob, sha256: offer.target.sha256, found: outcome.mismatch, bytesSent: outcome.bytesSent }, 'firmware cut off before its last chunk: the stored update is not the one uploaded; the target fails');
  } else if (outcome.complete) {
    deps.metrics.countFirmwareBytes(size);
    log.info({ eui, package: pkg, bytes: size }, 'firmware delivered');
  } else {
    log.warn({ eui, package: pkg, bytesSent: outcome.bytesSent, size }, 'firmware download cut off before the end (the station hung up or the connection failed); not counted as an offer');
  }
  try {
    await deps.registry.recordFirmwareDelivery(eui, { at: deps.clock(), ...firmwareDelivery(offer, outcome) });
  } catch (e) {
    log.error({ eui, err: e, package: pkg }, 'could not record the firmware delivery; the offer count may be short by one');
  }
}
