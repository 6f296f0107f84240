import type { IncomingMessage } from 'node:http';
import { CupsError } from '../core/errors.js';

/** A media type as RFC 9110 spells it: token "/" token. */
const MEDIA_TYPE = /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+$/;

/**
 * Reads and parses the JSON body of a station request by hand: no parser
 * lookup, no async resource, one Buffer.concat only when the body came in
 * several chunks. `done` is called once, with the parsed value (undefined for a
 * request without a body) or the error to answer; the answers are those the
 * Fastify reader gave before this path left Fastify, so clients see no change.
 * A body over `limit` is refused from its Content-Length before any byte is
 * read, or at the chunk that crosses it.
 */
export function readStationBody(req: IncomingMessage, limit: number, done: (error: CupsError | undefined, body: unknown) => void): void {
  const { headers } = req;
  const contentType = headers['content-type'];
  const declared = headers['content-length'];
  if (contentType === undefined && headers['transfer-encoding'] === undefined && (declared === undefined || declared === '0')) {
    done(undefined, undefined);
    return;
  }
  // What every station sends (PROTOCOL.md 1.1), checked before the general parse.
  let json = contentType === 'application/json';
  if (contentType !== undefined && !json) {
    const semicolon = contentType.indexOf(';');
    const media = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
    if (!MEDIA_TYPE.test(media)) {
      done(new CupsError('unsupported_media_type', 'invalid_argument', `Content-Type ${JSON.stringify(contentType)} is not a media type; send application/json`), undefined);
      return;
    }
    json = media === 'application/json';
  }
  if (declared !== undefined && Number(declared) > limit) {
    done(tooLarge(limit), undefined);
    return;
  }

  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let received = 0;
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limit) {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      done(tooLarge(limit), undefined);
      return;
    }
    if (first === undefined) first = chunk;
    else (chunks ??= [first]).push(chunk);
  };
  const onEnd = (): void => {
    const text = chunks !== undefined ? Buffer.concat(chunks, received).toString('utf8') : (first?.toString('utf8') ?? '');
    parse(text, json, done);
  };
  req.on('data', onData);
  req.on('end', onEnd);
}

function parse(raw: string, json: boolean, done: (error: CupsError | undefined, body: unknown) => void): void {
  // A byte order mark in front of the JSON is not an error (Fastify's JSON reader skipped it too).
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (json && text.length === 0) {
    done(new CupsError('invalid_request', 'invalid_argument', "Body cannot be empty when content-type is set to 'application/json'"), undefined);
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Some CUPS clients omit or vary the content type; the body is JSON either way.
    done(
      json
        ? new CupsError('invalid_request', 'invalid_argument', "Body is not valid JSON but content-type is set to 'application/json'")
        : new CupsError('invalid_json', 'invalid_argument', 'request body is not valid JSON'),
      undefined,
    );
    return;
  }
  done(undefined, body);
}

function tooLarge(limit: number): CupsError {
  return new CupsError('body_too_large', 'invalid_argument', `Request body is too large (over ${limit} bytes); a station's request is a few hundred bytes`);
}
