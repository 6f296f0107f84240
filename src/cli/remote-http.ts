import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { Agent, fetch as fetchWith } from 'undici';
import { CupsError, invalid, type ErrorKind } from '../core/errors.js';

const KINDS: readonly ErrorKind[] = ['invalid_argument', 'unauthenticated', 'permission_denied', 'not_found', 'conflict', 'unavailable', 'internal'];

/** Where the remote CLI sends its requests, and with which key. */
export interface ApiTarget {
  /** The admin API root, ending in /api/v1. */
  readonly base: string;
  readonly apiKey: string;
  /** PEM CA certificate(s) that verify an https:// server, instead of the system's (--server-ca). */
  readonly ca?: Buffer;
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface ApiRequest {
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** A JSON body. */
  readonly json?: unknown;
  /** A file streamed as the body (application/octet-stream), never read whole into memory. */
  readonly file?: { readonly path: string; readonly size: number; readonly onProgress?: (bytes: number) => void; readonly contentType?: string };
  /** A text body of this content type. */
  readonly text?: { readonly body: string; readonly contentType: string };
}

export type ApiCall = <T>(method: string, path: string, request?: ApiRequest) => Promise<T>;

/**
 * `--server` as the admin API root: `http://host:6091`, with or without a
 * trailing `/api/v1`. Only http and https; nothing after the API root.
 */
export function apiBase(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw invalid('invalid_server', `--server must be the admin API address, e.g. http://127.0.0.1:6091, got "${server}"`, { field: '--server' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('invalid_server', `--server must be an http:// or https:// address, got "${server}"`, { field: '--server' });
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  if (path !== '' || url.search !== '' || url.hash !== '') {
    throw invalid('invalid_server', `--server is the address of the admin API alone (scheme, host, port), e.g. ${url.origin}; got "${server}"`, { field: '--server' });
  }
  return `${url.origin}/api/v1`;
}

/** Whether an API root names this machine, where plain HTTP never leaves the host. */
export function isLoopback(base: string): boolean {
  const host = new URL(base).hostname;
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

function queryString(query: Readonly<Record<string, QueryValue>> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** A file as a request body stream, counting bytes as they leave. */
function fileBody(file: NonNullable<ApiRequest['file']>): ReadableStream {
  let sent = 0;
  const counted = createReadStream(file.path).pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        file.onProgress?.(sent);
        done(null, chunk);
      },
    }),
  );
  return Readable.toWeb(counted) as ReadableStream;
}

/** What a failed exchange means to the user: the server's own error, or why there was no usable answer. */
function unreachable(target: ApiTarget, e: unknown): CupsError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
  // A certificate the client cannot verify: most often one from the server's own CA (bscups pki init).
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(why)) {
    return new CupsError(
      'server_certificate_untrusted',
      'unavailable',
      `the admin API at ${target.base} presented a certificate this client does not trust (${why}); if it is from a private CA (such as the one "bscups pki init" makes), give that CA with --server-ca FILE (or BSCUPS_SERVER_CA)`,
      undefined,
      { cause: e },
    );
  }
  return new CupsError(
    'server_unreachable',
    'unavailable',
    `cannot reach the bscups admin API at ${target.base} (${why}); check --server (or BSCUPS_SERVER) and that "bscups serve" runs there with its admin listener (--admin-host/--admin-port, default 127.0.0.1:6091)`,
    undefined,
    { cause: e },
  );
}

async function answerOf<T>(target: ApiTarget, method: string, path: string, res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok && body !== undefined) return body as T;
  const error = (body as { error?: { code?: unknown; kind?: unknown; message?: unknown } } | undefined)?.error;
  if (error !== undefined && typeof error.code === 'string' && typeof error.message === 'string' && KINDS.includes(error.kind as ErrorKind)) {
    // The server's error as it is: the same code, kind (so exit code) and message as the local mode.
    throw new CupsError(error.code, error.kind as ErrorKind, error.message);
  }
  throw new CupsError(
    'unexpected_response',
    'unavailable',
    `${method} ${target.base}${path} answered HTTP ${res.status}${res.headers.get('content-type') === null ? '' : ` (${res.headers.get('content-type')})`}, not the bscups admin API; check --server (or BSCUPS_SERVER)`,
  );
}

/** A JSON client of the admin API with a bearer key; errors come back as the CupsError the server raised. */
export function createApiCall(target: ApiTarget): ApiCall {
  // A private CA: the same fetch, through an agent that trusts it (and only it) for this server.
  const dispatcher = target.ca === undefined ? undefined : new Agent({ connect: { ca: target.ca } });
  const send = (url: string, init: RequestInit): Promise<Response> =>
    dispatcher === undefined ? fetch(url, init) : (fetchWith(url, { ...(init as object), dispatcher } as Parameters<typeof fetchWith>[1]) as unknown as Promise<Response>);
  return async <T>(method: string, path: string, request: ApiRequest = {}): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${target.apiKey}`, accept: 'application/json' };
    let body: string | ReadableStream | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.file !== undefined) {
      headers['content-type'] = request.file.contentType ?? 'application/octet-stream';
      headers['content-length'] = String(request.file.size);
      body = fileBody(request.file);
    } else if (request.text !== undefined) {
      headers['content-type'] = request.text.contentType;
      body = request.text.body;
    }
    let res: Response;
    try {
      res = await send(`${target.base}${path}${queryString(request.query)}`, { method, headers, ...(body === undefined ? {} : { body }), ...(request.file === undefined ? {} : { duplex: 'half' }) } as RequestInit);
    } catch (e) {
      throw unreachable(target, e);
    }
    return answerOf<T>(target, method, path, res);
  };
}
