import type { ServerResponse } from 'node:http';
import { pipeline, Transform } from 'node:stream';
import { crc32, encodeResponseHead } from '../protocol/index.js';
import type { UpdateInfoRequest, UpdateInfoResponseHead } from '../protocol/types.js';
import { decide, exchangeRecord, onlyStampsLastSeen, sentParts, withoutPart, type Decision } from '../core/decide.js';
import type { BlobRead, BlobStore } from '../blobs/types.js';
import type { CredentialRef } from '../registry/types.js';
import { DEFAULT_HEALTH, healthSteady } from '../core/health.js';
import { authenticate, completeRotations, type Presented } from './authenticate.js';
import { FirmwareIntegrity, type OpenedUpdate, type StreamCheck } from './firmware-integrity.js';
import { recordDelivery, watchDelivery } from './firmware-delivery.js';
import { deferFirmware } from '../core/firmware-delivery.js';
import { secondsSince, sendBody } from './station-answer.js';
import type { UpdateInfoDeps } from './update-info.js';
import { createRefusalRecorder } from './refusal-recorder.js';

const MAX_CREDENTIAL = 65_535;

/**
 * The exchange that reads and writes the registry: authenticate → read the
 * twin → decide → load blobs → record → encode → answer. Authentication comes
 * first because the EUI it checks is in the body, and before the station twin
 * is read, so a refused request learns nothing. A rejection is the caller's to
 * answer (sendError); once the answer has started, failures are handled here.
 */
export function createExchange(deps: UpdateInfoDeps): (res: ServerResponse, started: number, req: UpdateInfoRequest, presented: Presented) => Promise<void> {
  const integrity = new FirmwareIntegrity(deps.blobs);
  const authDeps = { registry: deps.registry, clock: deps.clock, allowUnauthenticated: deps.allowUnauthenticated === true, refusals: deps.refusals ?? createRefusalRecorder(deps.registry, deps.logger), ...(deps.refusalLog === undefined ? {} : { refusalLog: deps.refusalLog }) };
  const log = deps.logger;
  const health = deps.health ?? DEFAULT_HEALTH;
  const slots = deps.downloads;

  return async (res, started, req, presented) => {
    const eui = req.router;
    const now = deps.clock();
    const { remoteAddress } = presented;

    const auth = await authenticate(presented, req, authDeps, log);
    const station = await deps.registry.getStation(eui);
    deps.metrics.sawStation(eui, station !== undefined);
    if (station === undefined) {
      await deps.registry.recordUnknown(eui, { at: now, remoteAddress, request: { ...req } });
      log.info({ eui, status: 404, remoteAddress }, 'update-info from unregistered station');
      deps.metrics.recentRefusals.note({ eui, remoteAddress, status: 404, code: 'unknown_station', message: `station ${eui} is not registered` });
      sendBody(res, deps.metrics, started, 404, 'text/plain; charset=utf-8', `station ${eui} is not registered\n`);
      return;
    }

    // The mode the desired CUPS credential is for: the target of the rotation that delivers it.
    const cupsCredMode = auth.station?.rotations.find((r) => r.category === 'cups' && r.newCrc === station.desired.cupsCred?.crc)?.targetMode ?? null;
    let decision = decide(req, station, { now, transport: { secure: presented.secure, cupsCredMode } });
    const creds: { cupsCred?: Buffer; tcCred?: Buffer } = {};
    for (const part of ['cupsCred', 'tcCred'] as const) {
      const ref = decision.answer[part];
      if (ref === undefined) continue;
      const bytes = await loadCredential(deps.blobs, ref);
      if (typeof bytes === 'string') decision = withoutPart(decision, part, `${part}: ${bytes}`);
      else creds[part] = bytes;
    }

    let update: BlobRead | undefined;
    let checkedBytes: Buffer | undefined;
    // A slot of --max-concurrent-downloads, held from here until the download ends (watchDelivery).
    let slot = false;
    if (decision.answer.firmware !== undefined && slots !== undefined) {
      slot = slots.tryTake();
      if (!slot) decision = deferFirmware(decision, slots.max ?? 0);
    }
    const fw = decision.answer.firmware;
    if (fw !== undefined) {
      const opened = await integrity.open(fw.target);
      if (opened.ok) ({ read: update, bytes: checkedBytes } = opened);
      else decision = withoutBrokenFirmware(decision, fw.target.package, opened);
    }
    if (slot && update === undefined) {
      slots?.release();
      slot = false;
    }

    try {
      const record = exchangeRecord(decision, station, { at: now, remoteAddress });
      // A CUPS URI or CUPS credential change makes the station call again at once (PROTOCOL.md 5.2): that call is not early.
      const callsAgain = decision.answer.cupsUri !== undefined || creds.cupsCred !== undefined;
      const hasTc = req.tcUri !== null;
      const steady = !callsAgain && healthSteady(station.health, station.lastSeenAt?.getTime() ?? -1, now.getTime(), health, hasTc);
      let healthLine: { from: string; to: string; reason: string } | undefined;
      if (steady && onlyStampsLastSeen(record, station)) await deps.registry.touchStation(eui, { at: now, remoteAddress });
      else {
        const result = await deps.registry.recordExchange(eui, { ...record, health: { thresholds: health, callsAgain, previousSeenAt: station.lastSeenAt, hasTc } });
        if (result.health?.changed === true) healthLine = { from: result.health.from, to: result.health.record.state, reason: result.health.reason };
        if (result.revert !== undefined) log[result.revert.kind === 'reverted' ? 'warn' : 'info']({ eui, revert: result.revert }, result.revert.kind === 'reverted' ? `TC URI set back to ${result.revert.tcUri}: ${result.revert.reason}` : `revert guard cleared: ${result.revert.reason}`);
      }
      if (healthLine !== undefined) log[healthLine.to === 'lns_failing' ? 'warn' : 'info']({ eui, health: healthLine }, `station health ${healthLine.from} → ${healthLine.to}: ${healthLine.reason}`);
      await completeRotations(deps.registry, auth, req, now, log);

      const head = encodeResponseHead(responseHead(decision, creds, update?.size ?? 0));
      const length = head.length + (update?.size ?? 0);
      const sent = sentParts(decision.answer);
      const line = {
        eui,
        status: 200,
        sent,
        bytes: length,
        problems: decision.problems.length > 0 ? decision.problems : undefined,
        ms: secondsSince(started) * 1000,
      };
      // One line per exchange; an unauthenticated one is that same line as a warning. A poll
      // that changed nothing is routine: at debug, like the one answered from memory.
      if (auth.via === 'none' && sent.length > 0) log.warn({ ...line, unauthenticated: true }, 'update-info accepted without authentication (--allow-unauthenticated)');
      else if (sent.length > 0 || decision.problems.length > 0 || record.events.length > 0) log.info({ ...line, auth: auth.via }, 'update-info');
      else log.debug({ ...line, auth: auth.via }, 'update-info: up to date');
      deps.metrics.countSent(sent);
      if (update === undefined || fw === undefined) {
        sendBody(res, deps.metrics, started, 200, 'application/octet-stream', head);
        return;
      }
      // The offer counts once the last byte is written, not now (see core/firmware-delivery.ts);
      // watched before the first byte goes, as it counts from the socket's bytes written. The
      // exchange is counted by the same verdict: a download cut off is not an ok exchange, and
      // one whose station hung up at the last byte (before the response finished) is one.
      let mismatch: string | undefined;
      slot = false;
      watchDelivery(res, length, update.size, (outcome) => {
        if (slots !== undefined) slots.release();
        deps.metrics.observeExchange(outcome.complete ? 'ok' : 'cut_off', secondsSince(started));
        void recordDelivery(deps, eui, fw, mismatch === undefined ? outcome : { ...outcome, complete: false, mismatch }, log);
      });
      streamUpdate(res, head, length, update, checkedBytes ?? integrity.streamCheck(fw.target, update), (found) => (mismatch = found));
    } catch (e) {
      // Until the response owns it, an opened firmware stream (and its download slot) is ours to close.
      update?.stream.destroy();
      if (slot) slots?.release();
      throw e;
    }
  };
}

/**
 * Update bytes read and written at a time when the store reads at a position
 * (two reused buffers per download). 64 KB keeps a download at 128 KB of buffers,
 * so even the connection cap's worth of simultaneous downloads stays bounded;
 * 128 KB measured faster on the fan-out bench but doubles that bound.
 */
const CHUNK = 64 * 1024;

/**
 * Writes the head, then the update from the store straight to the socket. A
 * station that hangs up closes the store's read; how far the download got is
 * watchDelivery's to tell.
 */
function streamUpdate(res: ServerResponse, head: Buffer, length: number, update: BlobRead, check: Buffer | StreamCheck, broken: (found: string) => void): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': length });
  res.write(head);
  if (Buffer.isBuffer(check)) {
    // A small update, read and checked whole before the answer started.
    update.stream.destroy();
    res.end(check);
  } else if (update.readAt !== undefined) sendFromPositions(res, update, update.readAt, check, broken);
  else pipeline(update.stream, holdLastChunk(check, broken), res, () => undefined);
}

/**
 * Passes the update through, hashed, one chunk behind: the last chunk goes out
 * only once the whole update has the upload's SHA-256; else the stream fails,
 * which destroys the response, so the station gets less than Content-Length
 * and discards the download (PROTOCOL.md 5.4).
 */
function holdLastChunk(check: StreamCheck, broken: (found: string) => void): Transform {
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      check.update(chunk);
      const out = held;
      held = chunk;
      done(null, out);
    },
    flush(done) {
      const found = check.finish();
      if (found === undefined) {
        done(null, held);
        return;
      }
      broken(found);
      done(new Error(`the stored update has SHA-256 ${found}, not the upload's`));
    },
  });
}

/**
 * Sends the update through two buffers per download, reused: one is read into
 * while the other is being written, and a buffer is read into again once the
 * socket has taken it. A read stream allocates a new buffer per chunk: a
 * fan-out moves gigabytes through such short-lived buffers, and V8 answers that
 * much external memory with a full collection every few dozen megabytes, which
 * in this process (registry cache, routes, metrics) cost more CPU than the
 * copying itself. It also bounds a download's memory to its two buffers.
 */
function sendFromPositions(
  res: ServerResponse,
  update: BlobRead,
  readAt: (target: Buffer, position: number) => Promise<number>,
  check: StreamCheck,
  broken: (found: string) => void,
): void {
  const size = update.size;
  const chunk = Math.max(1, Math.min(CHUNK, size));
  const free: Buffer[] = [Buffer.allocUnsafeSlow(chunk), Buffer.allocUnsafeSlow(chunk)];
  let readFrom = 0;
  let reading: Buffer | undefined;
  let filled: Buffer | undefined;
  let filledBytes = 0;
  let writing: Buffer | undefined;
  let over = false;
  // The store's read is closed when the response is: sent, cut off or failed.
  const stop = (error?: unknown): void => {
    if (over) return;
    over = true;
    update.stream.destroy();
    if (error !== undefined) res.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const pump = (): void => {
    if (over) return;
    if (reading === undefined && readFrom < size) {
      const buffer = free.pop();
      if (buffer !== undefined) {
        reading = buffer;
        const want = Math.min(chunk, size - readFrom);
        readAt(want === chunk ? buffer : buffer.subarray(0, want), readFrom).then(onRead, stop);
      }
    }
    if (writing === undefined && filled !== undefined) {
      writing = filled;
      filled = undefined;
      // The callback comes once the socket has handed these bytes to the kernel: then the buffer is free.
      res.write(filledBytes === chunk ? writing : writing.subarray(0, filledBytes), onWritten);
    } else if (writing === undefined && reading === undefined && readFrom >= size) {
      res.end();
    }
  };
  const onRead = (bytes: number): void => {
    if (over) return;
    if (bytes <= 0) {
      stop(new Error(`the update ended at byte ${readFrom} of ${size} in the blob store`));
      return;
    }
    filled = reading;
    filledBytes = bytes;
    reading = undefined;
    readFrom += bytes;
    check.update(bytes === chunk ? (filled as Buffer) : (filled as Buffer).subarray(0, bytes));
    if (readFrom >= size) {
      // The last chunk goes out only if the whole update is the one uploaded; else the connection is cut without it.
      const found = check.finish();
      if (found !== undefined) {
        broken(found);
        stop(new Error(`the stored update has SHA-256 ${found}, not the upload's`));
        return;
      }
    }
    pump();
  };
  const onWritten = (error?: Error | null): void => {
    if (error !== undefined && error !== null) {
      stop();
      return;
    }
    if (writing !== undefined) free.push(writing);
    writing = undefined;
    pump();
  };
  res.once('close', () => stop());
  pump();
}

/** The decision without its firmware, for an update that could not be opened or is not the upload; a broken one fails the target. */
function withoutBrokenFirmware(decision: Decision, pkg: string, opened: Extract<OpenedUpdate, { ok: false }>): Decision {
  const without = withoutPart(decision, 'firmware', opened.problem);
  if (opened.broken === undefined) return without;
  return { ...without, events: [...without.events, opened.broken.event], firmware: { package: pkg, state: 'failed', lastError: opened.broken.lastError } };
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
  try {
    return await readCredential(blobs, ref);
  } catch (e) {
    // A blob that cannot be opened (a symlink, not a file, unreadable) is a problem like a missing one, not a 500 (PROTOCOL.md 5.3).
    return `blob ${ref.blob} cannot be read from the blob store (${e instanceof Error ? e.message : String(e)}); set the credential again`;
  }
}

async function readCredential(blobs: BlobStore, ref: CredentialRef): Promise<Buffer | string> {
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
