import { decodeResponse } from '../protocol/index.js';
import type { DecodedResponse } from '../protocol/types.js';

/**
 * Decodes a response body without a second copy of the update. decodeResponse
 * copies every segment out of the body, which for a 50 MB update doubles the memory
 * held; so the head is decoded (and validated) by decodeResponse with the update
 * length zeroed, and the update is returned as a view into the body. Whenever the
 * update length cannot be trusted, the whole body goes to decodeResponse so that its
 * error message is the one reported.
 */
export function decodeBody(body: Buffer): DecodedResponse {
  const headLength = responseHeadLength(body);
  if (headLength === undefined) return decodeResponse(body);
  const updateLength = body.readUInt32LE(headLength - 4);
  if (updateLength === 0 || headLength + updateLength > body.length) return decodeResponse(body);
  const head = Buffer.concat([body.subarray(0, headLength - 4), Buffer.alloc(4)]);
  const decoded = decodeResponse(head);
  return { ...decoded, update: body.subarray(headLength, headLength + updateLength) };
}

/** Offset just past the updLen field (PROTOCOL 2 layout), or undefined when the body ends before it. */
function responseHeadLength(body: Buffer): number | undefined {
  let at = 0;
  const skip = (size: 1 | 2 | 4): boolean => {
    if (at + size > body.length) return false;
    at += size + body.readUIntLE(at, size);
    return true;
  };
  // cupsUri, tcUri, cupsCred, tcCred, then sigLen (which counts the keyCRC).
  if (!(skip(1) && skip(1) && skip(2) && skip(2) && skip(4))) return undefined;
  return at + 4 <= body.length ? at + 4 : undefined;
}
