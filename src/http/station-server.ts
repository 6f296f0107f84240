import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { UPDATE_INFO_PATH } from '../protocol/index.js';
import type { Server as TlsServer } from 'node:tls';
import { armIdleTimeout, handshakeDeadlines, nodeServerOptions, type ConnectionLimits } from './connection-limits.js';
import type { HttpsServerOptions } from './tls-files.js';
import type { StationHandler } from './update-info.js';

/** What the station listener's node server needs. */
export interface StationServerOptions {
  /** POST /update-info. */
  readonly station: StationHandler;
  readonly limits: ConnectionLimits;
  /** Serve HTTPS with these options; plain HTTP when absent. */
  readonly https?: HttpsServerOptions | undefined;
  /** True once the app is closing: then Fastify answers every request (503, connection closed). */
  readonly closing: () => boolean;
}

/**
 * A Fastify `serverFactory`: the node server of the station listener, whose
 * 'request' listener hands POST /update-info to the plain station handler and
 * everything else (health, metrics, 404s) to Fastify. The station's poll is
 * the path measured against the process's limit; Fastify's per-request work
 * (request and reply objects, a child logger, routing, hooks, its body reader)
 * cost more than the poll itself. The deadlines Fastify would set on a server
 * it made are set here, except the idle timeout (Fastify's connectionTimeout):
 * that one is armed per request where an answer can take long (see
 * armIdleTimeout), not on every connection.
 */
export function stationServerFactory(options: StationServerOptions): (fastify: (req: IncomingMessage, res: ServerResponse) => void) => Server {
  const { station, limits, closing } = options;
  const nodeOptions = nodeServerOptions(limits, options.https !== undefined);
  return (fastify) => {
    const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.method === 'POST' && isUpdateInfo(req.url) && !closing()) station(req, res);
      else {
        armIdleTimeout(req, limits);
        fastify(req, res);
      }
    };
    const server: Server = options.https === undefined ? createServer(nodeOptions, dispatch) : createHttpsServer({ ...options.https, ...nodeOptions }, dispatch);
    // A client that opens TCP and never finishes the handshake is not yet an HTTP connection.
    if (options.https !== undefined) handshakeDeadlines(server as unknown as TlsServer, limits);
    return server;
  };
}

/** The station's path, with or without a query (the route Fastify had matched both). */
function isUpdateInfo(url: string | undefined): boolean {
  return url === UPDATE_INFO_PATH || (url !== undefined && url.startsWith(`${UPDATE_INFO_PATH}?`));
}
