import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as TlsServer } from 'node:tls';
import { handshakeDeadlines, nodeServerOptions, type ConnectionLimits } from './connection-limits.js';
import type { HttpsServerOptions } from './tls-files.js';

/** What the admin listener's node server needs. */
export interface AdminServerOptions {
  readonly limits: ConnectionLimits;
  /** Serve HTTPS with these options; plain HTTP when absent. */
  readonly https?: HttpsServerOptions | undefined;
}

const DEADLINE = Symbol('bscups.requestDeadline');
type Guarded = IncomingMessage & { [DEADLINE]?: NodeJS.Timeout };

/**
 * A Fastify `serverFactory` for the admin listener, with the station
 * listener's protections: the headers deadline (and, over TLS, the handshake
 * deadlines), the keep-alive timeout, and an idle timeout on every connection.
 * Node's whole-request deadline would cut an authenticated firmware upload
 * that takes hours, so it is replaced by one of our own that holds until the
 * request is authenticated (see keepRequestOpen): a stranger gets
 * `requestTimeoutMs` for headers and body, a key holder's upload is bounded by
 * the idle timeout. The connection cap is applied where the server is used
 * (capConnections), as on the station side.
 */
export function adminServerFactory(options: AdminServerOptions): (fastify: (req: IncomingMessage, res: ServerResponse) => void) => Server {
  const { limits } = options;
  const tls = options.https !== undefined;
  // requestTimeout 0: Node's own check would also judge authenticated uploads.
  const nodeOptions = { ...nodeServerOptions(limits, tls), requestTimeout: 0 };
  return (fastify) => {
    const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
      armRequestDeadline(req as Guarded, limits.requestTimeoutMs);
      fastify(req, res);
    };
    const server: Server = options.https === undefined ? createServer(nodeOptions, dispatch) : createHttpsServer({ ...options.https, ...nodeOptions }, dispatch);
    // Every admin connection: a connection with no traffic either way for this long is closed.
    server.timeout = limits.idleTimeoutMs;
    if (tls) handshakeDeadlines(server as unknown as TlsServer, limits);
    return server;
  };
}

/** The request's body no longer needs to arrive within the whole-request deadline: its sender proved a key. */
export function keepRequestOpen(req: IncomingMessage): void {
  disarm.call(req as Guarded);
}

function armRequestDeadline(req: Guarded, ms: number): void {
  if (ms <= 0 || req.complete) return;
  const timer = setTimeout(requestDeadline, ms, req);
  timer.unref();
  req[DEADLINE] = timer;
  req.once('end', disarm);
  req.once('close', disarm);
}

function disarm(this: Guarded): void {
  const timer = this[DEADLINE];
  if (timer === undefined) return;
  clearTimeout(timer);
  this[DEADLINE] = undefined;
}

/** The request is still not whole: the connection goes, as Node's own request deadline does it. */
function requestDeadline(req: Guarded): void {
  req[DEADLINE] = undefined;
  if (req.complete) return;
  req.socket.destroy();
}

/**
 * Whether an answer is being sent before its request's body has arrived
 * (a 401 to an upload, a page for a GET that came with a body). Then the
 * connection must close after the answer: otherwise Node reads and discards
 * the rest of the body to keep the connection, and a client dripping it holds
 * the connection for as long as it likes.
 */
export function answeredBeforeBody(req: IncomingMessage): boolean {
  return !req.complete;
}
