import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { crc32, encodeResponseHead, parseUpdateInfoRequest } from '../protocol/index.js';
import type { UpdateInfoResponseHead } from '../protocol/types.js';
import { decide, exchangeRecord, onlyStampsLastSeen, sentParts, withoutPart, type Decision } from '../core/decide.js';
import type { BlobRead, BlobStore } from '../blobs/types.js';
import type { CredentialRef } from '../registry/types.js';
import type { AppDeps } from './app.js';
import type { ServerMetrics } from './metrics.js';
import { authenticate, completeRotations } from './authenticate.js';
import { FirmwareIntegrity } from './firmware-integrity.js';
import { recordDelivery, watchDelivery } from './firmware-delivery.js';

const MAX_CREDENTIAL = 65_535;

type Deps = AppDeps & { readonly clock: () => Date; readonly metrics: ServerMetrics };

/**
 * POST /update-info: parse → authenticate → decide → load blobs → record → encode.
 * Authentication comes first because the EUI it checks is in the body, and
 * before the station twin is read, so a refused request learns nothing.
 * Always answers with a Content-Length (stations cannot read chunked bodies).
 */
export function registerUpdateInfo(app: FastifyInstance, deps: Deps): void {
  const integrity = new FirmwareIntegrity(deps.blobs);
  app.post('/update-info', async (request, reply) => {
    const started = process.hrtime.bigint();
    const req = parseUpdateInfoRequest(request.body);
    const log = request.log.child({ eui: req.router });
    const now = deps.clock();
    const remoteAddress = request.ip ?? null;

    const auth = await authenticate(request, req, { registry: deps.registry, clock: deps.clock, allowUnauthenticated: deps.allowUnauthenticated === true }, log);
    const station = await deps.registry.getStation(req.router);
    deps.metrics.sawStation(req.router, station !== undefined);
    if (station === undefined) {
      await deps.registry.recordUnknown(req.router, { at: now, remoteAddress, request: { ...req } });
      log.info({ status: 404, remoteAddress }, 'update-info from unregistered station');
      return sendText(reply, 404, `station ${req.router} is not registered\n`);
    }

    let decision = decide(req, station, { now });
    const creds: { cupsCred?: Buffer; tcCred?: Buffer } = {};
    for (const part of ['cupsCred', 'tcCred'] as const) {
      const ref = decision.answer[part];
      if (ref === undefined) continue;
      const bytes = await loadCredential(deps.blobs, ref);
      if (typeof bytes === 'string') decision = withoutPart(decision, part, `${part}: ${bytes}`);
      else creds[part] = bytes;
    }

    let update: BlobRead | undefined;
    const fw = decision.answer.firmware;
    if (fw !== undefined) {
      update = await deps.blobs.get('fwupgrades', fw.target.blob);
      if (update === undefined || update.size !== fw.target.size || !(await integrity.matches(fw.target, update))) {
        update?.stream.destroy();
        update = undefined;
        decision = withoutPart(decision, 'firmware', `firmware ${fw.target.package}: blob ${fw.target.blob} is missing or changed in the blob store (size or SHA-256 differ from the upload); upload it again`);
      }
    }

    try {
      const record = exchangeRecord(decision, station, { at: now, remoteAddress });
      if (onlyStampsLastSeen(record, station)) await deps.registry.touchStation(station.eui, { at: now, remoteAddress });
      else await deps.registry.recordExchange(station.eui, record);
      await completeRotations(deps.registry, auth, req, now, log);

      const head = encodeResponseHead(responseHead(decision, creds, update?.size ?? 0));
      const length = head.length + (update?.size ?? 0);
      const sent = sentParts(decision.answer);
      const line = {
        status: 200,
        sent,
        bytes: length,
        problems: decision.problems.length > 0 ? decision.problems : undefined,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      };
      // One line per exchange; an unauthenticated one is that same line as a warning.
      if (auth.via === 'none') log.warn({ ...line, unauthenticated: true }, 'update-info accepted without authentication (--allow-unauthenticated)');
      else log.info({ ...line, auth: auth.via }, 'update-info');
      deps.metrics.countSent(sent);
      reply.status(200).header('content-type', 'application/octet-stream').header('content-length', length);
      if (update === undefined || fw === undefined) return reply.send(head);
      // The offer counts once the last byte is written, not now (see core/firmware-delivery.ts).
      watchDelivery(reply.raw, length, update.size, (outcome) => void recordDelivery(deps, station.eui, fw, outcome, log));
      return reply.send(headThenStream(head, update.stream));
    } catch (e) {
      // Until the reply owns it, an opened firmware stream is ours to close.
      update?.stream.destroy();
      throw e;
    }
  });
}

function responseHead(decision: Decision, creds: { cupsCred?: Buffer; tcCred?: Buffer }, updateLength: number): UpdateInfoResponseHead {
  const { answer } = decision;
  const fw = answer.firmware;
  return {
    ...(answer.cupsUri === undefined ? {} : { cupsUri: answer.cupsUri }),
    ...(answer.tcUri === undefined ? {} : { tcUri: answer.tcUri }),
    ...(creds.cupsCred === undefined ? {} : { cupsCred: creds.cupsCred }),
    ...(creds.tcCred === undefined ? {} : { tcCred: creds.tcCred }),
    ...(fw === undefined ? {} : { firmware: { keyCrc: fw.signature.keyCrc, signature: Buffer.from(fw.signature.signature, 'base64') } }),
    updateLength,
  };
}

/** Reads a credential blob (small by protocol limit) and checks it still has the CRC the registry promised. */
async function loadCredential(blobs: BlobStore, ref: CredentialRef): Promise<Buffer | string> {
  const read = await blobs.get('stationcredentials', ref.blob);
  if (read === undefined) return `blob ${ref.blob} is missing from the blob store; set the credential again`;
  if (read.size > MAX_CREDENTIAL) {
    read.stream.destroy();
    return `blob ${ref.blob} is ${read.size} bytes, over the station's limit of ${MAX_CREDENTIAL}`;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of read.stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const crc = crc32(bytes);
  if (crc !== ref.crc) return `blob ${ref.blob} has CRC ${crc}, expected ${ref.crc}; set the credential again`;
  return bytes;
}

/**
 * The response body as one stream: the head put in front of the update's own
 * stream, so the bytes go from the store to the socket with no extra buffering
 * layer (each one costs memory per simultaneous download).
 */
function headThenStream(head: Buffer, update: Readable): Readable {
  update.unshift(head);
  return update;
}

function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply
    .status(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('content-length', Buffer.byteLength(text))
    .send(text);
}
