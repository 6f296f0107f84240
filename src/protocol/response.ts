import { CupsError } from '../core/errors.js';
import type { DecodedResponse, UpdateInfoResponseHead } from './types.js';

/** The whole "nothing to change" answer: every length zero (PROTOCOL.md 2.1). Do not mutate. */
export const NOTHING_TO_CHANGE: Buffer = Buffer.alloc(14);

/** Station limits (PROTOCOL.md 2.4). */
export const MAX_URI_BYTES = 255;
export const MAX_CREDENTIAL_BYTES = 0xffff;
export const MIN_SIGNATURE_BYTES = 8;
export const MAX_SIGNATURE_BYTES = 128;
/** The station reads segment lengths as signed 32-bit: anything from 2^31 up is refused. */
export const MAX_SEGMENT_LENGTH = 0x7fffffff;
const KEY_CRC_BYTES = 4;

/** The encoder was asked for something the station cannot take: a server bug, not user input. */
function internalResponseError(code: 'invalid_response' | 'response_too_large', message: string, details: Record<string, unknown>): CupsError {
  return new CupsError(code, 'internal', message, details);
}

function uriBytes(uri: string | undefined, field: string): Buffer {
  if (uri === undefined) return Buffer.alloc(0);
  // The station writes the bytes to a file and reads them back as a C string.
  if (!/^[\x01-\x7f]*$/.test(uri)) {
    throw internalResponseError('invalid_response', `field "${field}" must be ASCII without NUL to go on the wire`, { field });
  }
  if (uri.length > MAX_URI_BYTES) {
    throw internalResponseError('response_too_large', `field "${field}" is ${uri.length} bytes; the wire allows at most ${MAX_URI_BYTES}`, { field });
  }
  return Buffer.from(uri, 'latin1');
}

function credBytes(cred: Uint8Array | undefined, field: string): Uint8Array {
  const bytes = cred ?? new Uint8Array(0);
  if (bytes.length > MAX_CREDENTIAL_BYTES) {
    throw internalResponseError('response_too_large', `field "${field}" is ${bytes.length} bytes; the station takes at most ${MAX_CREDENTIAL_BYTES}`, {
      field,
    });
  }
  return bytes;
}

/**
 * Encode every segment up to and including updLen; the server streams the
 * `updateLength` update bytes after it. sigLen counts the 4 keyCRC bytes plus
 * the DER signature (PROTOCOL.md 2, 2.6).
 */
export function encodeResponseHead(head: UpdateInfoResponseHead): Buffer {
  const cupsUri = uriBytes(head.cupsUri, 'cupsUri');
  const tcUri = uriBytes(head.tcUri, 'tcUri');
  const cupsCred = credBytes(head.cupsCred, 'cupsCred');
  const tcCred = credBytes(head.tcCred, 'tcCred');
  const { updateLength, firmware } = head;
  if (!Number.isSafeInteger(updateLength) || updateLength < 0) {
    throw internalResponseError('invalid_response', `field "updateLength" must be a non-negative integer, got ${String(updateLength)}`, { field: 'updateLength' });
  }
  if (updateLength > MAX_SEGMENT_LENGTH) {
    throw internalResponseError('response_too_large', `field "updateLength" is ${updateLength} bytes; the station refuses updates of 2 GiB or more`, {
      field: 'updateLength',
    });
  }
  let sigSegment = Buffer.alloc(0);
  if (firmware) {
    const sig = firmware.signature;
    if (sig.length < MIN_SIGNATURE_BYTES || sig.length > MAX_SIGNATURE_BYTES) {
      throw internalResponseError(
        'invalid_response',
        `field "signature" is ${sig.length} bytes; the station takes a DER signature of ${MIN_SIGNATURE_BYTES}..${MAX_SIGNATURE_BYTES} bytes`,
        { field: 'signature' },
      );
    }
    if (!Number.isInteger(firmware.keyCrc) || firmware.keyCrc < 0 || firmware.keyCrc > 0xffffffff) {
      throw internalResponseError('invalid_response', `field "keyCrc" must be an unsigned 32-bit integer, got ${String(firmware.keyCrc)}`, { field: 'keyCrc' });
    }
    if (updateLength === 0) {
      throw internalResponseError('invalid_response', 'field "signature" was given without an update (updateLength is 0)', { field: 'signature' });
    }
    sigSegment = Buffer.alloc(KEY_CRC_BYTES + sig.length);
    sigSegment.writeUInt32LE(firmware.keyCrc >>> 0, 0);
    sigSegment.set(sig, KEY_CRC_BYTES);
  }
  const out = Buffer.alloc(1 + cupsUri.length + 1 + tcUri.length + 2 + cupsCred.length + 2 + tcCred.length + 4 + sigSegment.length + 4);
  let at = 0;
  at = out.writeUInt8(cupsUri.length, at);
  at += cupsUri.copy(out, at);
  at = out.writeUInt8(tcUri.length, at);
  at += tcUri.copy(out, at);
  at = out.writeUInt16LE(cupsCred.length, at);
  out.set(cupsCred, at);
  at += cupsCred.length;
  at = out.writeUInt16LE(tcCred.length, at);
  out.set(tcCred, at);
  at += tcCred.length;
  at = out.writeUInt32LE(sigSegment.length, at);
  at += sigSegment.copy(out, at);
  out.writeUInt32LE(updateLength, at);
  return out;
}

/** Encode a whole response body: the head with updLen = update length, then the update bytes. */
export function encodeResponse(head: Omit<UpdateInfoResponseHead, 'updateLength'>, update?: Uint8Array): Buffer {
  const bytes = update ?? new Uint8Array(0);
  return Buffer.concat([encodeResponseHead({ ...head, updateLength: bytes.length }), bytes]);
}

class Reader {
  at = 0;
  constructor(private readonly body: Uint8Array) {}

  take(n: number, segment: string): Buffer {
    const left = this.body.length - this.at;
    if (n > left) {
      throw new CupsError(
        'invalid_response',
        'invalid_argument',
        `response truncated in segment "${segment}": needs ${n} bytes at offset ${this.at}, only ${left} left (body is ${this.body.length} bytes)`,
        { field: segment, offset: this.at },
      );
    }
    const slice = Buffer.from(this.body.subarray(this.at, this.at + n));
    this.at += n;
    return slice;
  }

  uint(size: 1 | 2 | 4, segment: string): number {
    return this.take(size, segment).readUIntLE(0, size);
  }
}

function decodeUri(bytes: Buffer, segment: string): string | null {
  if (bytes.length === 0) return null;
  if (bytes.some((b) => b === 0 || b > 0x7f)) {
    throw new CupsError('invalid_response', 'invalid_argument', `segment "${segment}" contains NUL or non-ASCII bytes`, { field: segment });
  }
  return bytes.toString('latin1');
}

function segmentLength(reader: Reader, segment: string): number {
  const length = reader.uint(4, segment);
  if (length > MAX_SEGMENT_LENGTH) {
    throw new CupsError('invalid_response', 'invalid_argument', `segment "${segment}" length ${length} is 2 GiB or more, which the station refuses`, { field: segment });
  }
  return length;
}

/**
 * Decode a response body as a station would, strictly: every length field must
 * be present (2, 6 or 10 byte bodies fail, naming the missing segment), a sigLen
 * outside 0 or 8..132 fails, and bytes after the update are ignored (PROTOCOL.md 2.5).
 */
export function decodeResponse(body: Uint8Array): DecodedResponse {
  if (!(body instanceof Uint8Array)) {
    throw new CupsError('invalid_response', 'invalid_argument', 'response body must be bytes', { field: 'body' });
  }
  const r = new Reader(body);
  const cupsUri = decodeUri(r.take(r.uint(1, 'cupsUriLen'), 'cupsUri'), 'cupsUri');
  const tcUri = decodeUri(r.take(r.uint(1, 'tcUriLen'), 'tcUri'), 'tcUri');
  const cupsCred = r.take(r.uint(2, 'cupsCredLen'), 'cupsCred');
  const tcCred = r.take(r.uint(2, 'tcCredLen'), 'tcCred');
  const sigLen = segmentLength(r, 'sigLen');
  let keyCrc: number | null = null;
  let signature: Buffer | null = null;
  if (sigLen > 0) {
    if (sigLen < MIN_SIGNATURE_BYTES || sigLen > MAX_SIGNATURE_BYTES + KEY_CRC_BYTES) {
      throw new CupsError(
        'invalid_response',
        'invalid_argument',
        `segment "sigLen" is ${sigLen}; the station takes 0 or ${MIN_SIGNATURE_BYTES}..${MAX_SIGNATURE_BYTES + KEY_CRC_BYTES} (4 keyCRC bytes + DER signature)`,
        { field: 'sigLen' },
      );
    }
    keyCrc = r.uint(4, 'keyCrc');
    signature = r.take(sigLen - KEY_CRC_BYTES, 'signature');
  }
  const updLen = segmentLength(r, 'updLen');
  const update = updLen > 0 ? r.take(updLen, 'update') : null;
  return {
    cupsUri,
    tcUri,
    cupsCred: cupsCred.length > 0 ? cupsCred : null,
    tcCred: tcCred.length > 0 ? tcCred : null,
    keyCrc,
    signature,
    update,
  };
}
