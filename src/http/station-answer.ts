import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { isCupsError } from '../core/errors.js';
import { NOTHING_TO_CHANGE } from '../protocol/index.js';
import { httpStatusOf } from './error-status.js';
import { outcomeOf, type ServerMetrics } from './metrics.js';
import type { RefusalLog } from './refusal-log.js';

/** The headers of "nothing to change", built once: the up-to-date poll allocates none. */
const NOTHING_HEADERS = Object.freeze({ 'content-type': 'application/octet-stream', 'content-length': String(NOTHING_TO_CHANGE.length) });

/** Seconds since `started` (a performance.now() reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}

/** Answers "nothing to change" (PROTOCOL.md 2.1) and counts the exchange. */
export function sendNothingToChange(res: ServerResponse, metrics: ServerMetrics, started: number): void {
  res.writeHead(200, NOTHING_HEADERS);
  res.end(NOTHING_TO_CHANGE);
  metrics.observeExchange('ok', secondsSince(started));
}

/** Answers with a whole body and its Content-Length (stations cannot read chunked bodies) and counts the exchange. */
export function sendBody(res: ServerResponse, metrics: ServerMetrics, started: number, status: number, contentType: string, body: Buffer | string, close = false): void {
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
  // After an error while the body was still coming, the rest of it would be read as the next request.
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
  metrics.observeExchange(outcomeOf(status), secondsSince(started));
}

/**
 * Answers an error from the one kind → status table, as `code: message`; a
 * client that hung up is not a server failure and there is no one left to
 * answer. `eui` is the station the request named, when it got that far.
 */
export function sendError(
  res: ServerResponse,
  deps: { readonly metrics: ServerMetrics; readonly logger: FastifyBaseLogger; readonly refusalLog?: RefusalLog | undefined },
  started: number,
  error: unknown,
  eui: string | undefined,
  close = false,
): void {
  if (res.destroyed || (error as { code?: string } | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    deps.logger.warn({ eui, code: 'client_closed' }, 'the client closed the connection before the answer was complete');
    deps.metrics.observeExchange('cut_off', secondsSince(started));
    return;
  }
  if (res.headersSent) {
    // Part of an answer is out: the station must not take the rest for a whole one.
    deps.logger.error({ eui, err: error }, 'update-info failed after the answer had started; connection closed');
    res.destroy();
    return;
  }
  let status = 500;
  let code = 'internal';
  let message = 'internal server error; see the server log';
  if (isCupsError(error)) {
    status = httpStatusOf(error);
    code = error.code;
    message = error.message;
  }
  deps.metrics.recentRefusals.note({ eui: eui ?? null, remoteAddress: res.req?.socket?.remoteAddress ?? null, status, code, message });
  if (status >= 500) deps.logger.error({ eui, err: error, code }, 'request failed');
  else if (deps.refusalLog !== undefined) deps.refusalLog.refused('info', 'request refused', code, res.socket?.remoteAddress ?? null, { eui, status, reason: message });
  else deps.logger.info({ eui, code, status, reason: message }, 'request refused');
  sendBody(res, deps.metrics, started, status, 'text/plain; charset=utf-8', `${code}: ${message}\n`, close);
}
