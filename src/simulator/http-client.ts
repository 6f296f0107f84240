import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { CupsTarget } from './cups-uri.js';

/** The station's own error text for a body without Content-Length (chunked or read-until-close). */
export const CONTENT_SIZE_ERROR = 'Received more data than expected HTTP content size';

/** The station buffers the response head in its 8 KB read buffer; anything bigger is refused. */
const MAX_HEAD_BYTES = 8 * 1024;
/** The body is held once in memory: refuse claims no test or benchmark could mean (station segments are < 2 GB). */
const MAX_BODY_BYTES = 1024 * 1024 * 1024;

/** A response as read off the socket. */
export interface RawHttpResponse {
  readonly status: number;
  /** Header names lowercased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** True when the server used Transfer-Encoding: chunked. */
  readonly chunked: boolean;
}

/** Result of one exchange: a response, an error, or both (a head that the station would reject). */
export type HttpOutcome =
  | { readonly ok: true; readonly response: RawHttpResponse }
  | { readonly ok: false; readonly error: string; readonly response?: RawHttpResponse };

/** Everything one exchange needs. */
export interface HttpExchangeOptions {
  readonly target: CupsTarget;
  /** Options for tls.connect, or undefined for plain TCP. */
  readonly tls: ConnectionOptions | undefined;
  /** The exact request bytes. */
  readonly request: Buffer;
  /** Whole-exchange timeout, re-armed on every received chunk (the station's CUPS_CONN_TIMEOUT). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

interface Head {
  status: number;
  headers: Record<string, string>;
  chunked: boolean;
  contentLength: number | null;
}

/**
 * One request/response on a fresh connection, read the way the station reads it:
 * the head must fit in one buffer, the body must be announced by Content-Length and
 * is read to exactly that size, then the connection is closed.
 */
export function httpExchange(opts: HttpExchangeOptions): Promise<HttpOutcome> {
  return new Promise<HttpOutcome>((resolve) => {
    const { target } = opts;
    let settled = false;
    let headBuf: Buffer = Buffer.alloc(0);
    let head: Head | null = null;
    let body: Buffer | null = null;
    let received = 0;
    let timer: NodeJS.Timeout | undefined;

    const socket: Socket = opts.tls
      ? tlsConnect({ ...opts.tls, host: target.host, port: target.port }, () => socket.write(opts.request))
      : netConnect({ host: target.host, port: target.port }, () => socket.write(opts.request));

    const finish = (outcome: HttpOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const fail = (error: string): void => {
      const response = head ? { status: head.status, headers: head.headers, body: (body ?? Buffer.alloc(0)).subarray(0, received), chunked: head.chunked } : undefined;
      finish(response ? { ok: false, error, response } : { ok: false, error });
    };
    const armTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => fail('CUPS timed out'), opts.timeoutMs);
    };
    const onAbort = (): void => fail('exchange aborted');

    const onBodyBytes = (chunk: Buffer): void => {
      if (head === null || body === null) return;
      const room = body.length - received;
      if (chunk.length > room) {
        fail(`${CONTENT_SIZE_ERROR}: ${chunk.length - room} extra bytes`);
        return;
      }
      chunk.copy(body, received);
      received += chunk.length;
      if (received === body.length) {
        finish({ ok: true, response: { status: head.status, headers: head.headers, body, chunked: head.chunked } });
      }
    };

    const onHeadBytes = (chunk: Buffer): void => {
      headBuf = Buffer.concat([headBuf, chunk]);
      const end = headBuf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (headBuf.length > MAX_HEAD_BYTES) fail(`HTTP response head larger than ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      const parsed = parseHead(headBuf.subarray(0, end).toString('latin1'));
      if (typeof parsed === 'string') return fail(parsed);
      head = parsed;
      const rest = headBuf.subarray(end + 4);
      if (parsed.contentLength === null) {
        // A non-200 answer is a failure anyway; keep what arrived as its text.
        body = Buffer.from(rest);
        received = body.length;
        return fail(parsed.status === 200 ? CONTENT_SIZE_ERROR : `HTTP ${parsed.status} (without Content-Length)`);
      }
      if (parsed.contentLength > MAX_BODY_BYTES) {
        return fail(`Content-Length ${parsed.contentLength} exceeds the simulator's limit of ${MAX_BODY_BYTES} bytes`);
      }
      body = Buffer.allocUnsafe(parsed.contentLength);
      if (parsed.contentLength === 0) {
        return finish({ ok: true, response: { status: parsed.status, headers: parsed.headers, body, chunked: parsed.chunked } });
      }
      if (rest.length > 0) onBodyBytes(rest);
    };

    socket.on('data', (chunk: Buffer) => {
      if (settled) return;
      armTimer();
      if (head === null) onHeadBytes(chunk);
      else onBodyBytes(chunk);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => fail(connectionError(target.hostPort, opts.tls !== undefined, e)));
    socket.on('close', () => fail(head === null ? 'Connection closed unexpectedly' : 'Unexpected end of data'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    armTimer();
  });
}

/** Parses the status line and headers; a string is an error message. */
function parseHead(text: string): Head | string {
  const lines = text.split('\r\n');
  // Mirrors http_statusCode: "HTTP/1.x NNN".
  const status = /^HTTP\/1\.\d (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!status) return `Malformed HTTP status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `Malformed HTTP header line: ${JSON.stringify(line.slice(0, 80))}`;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const chunked = /(^|,)\s*chunked\s*$/i.test(headers['transfer-encoding'] ?? '');
  const lengthText = headers['content-length'];
  let contentLength: number | null = null;
  if (lengthText !== undefined && !chunked) {
    if (!/^\d+$/.test(lengthText)) return `Malformed Content-Length: ${JSON.stringify(lengthText.slice(0, 40))}`;
    contentLength = Number(lengthText);
  }
  return { status: Number(status[1]), headers, chunked, contentLength };
}

/**
 * A connection error in words. An https:// URI against a server that speaks plain HTTP
 * makes OpenSSL report the HTTP answer as a bad record ("wrong version number", "packet
 * length too long" with a dump): say what it means instead.
 */
export function connectionError(hostPort: string, tls: boolean, e: NodeJS.ErrnoException): string {
  const code = e.code ?? '';
  if (tls && /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER_FAILURE/i.test(`${code} ${e.message}`)) {
    return `the server at ${hostPort} speaks plain HTTP, not TLS: write http://${hostPort} in cups.uri, or serve TLS there (bscups serve --tls-cert … --tls-key …)`;
  }
  return `CUPS connection to ${hostPort} failed: ${code} ${e.message}`.replace(/ {2,}/g, ' ');
}
