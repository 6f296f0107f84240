import type { Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** Shuts a listener down: see trackConnections. */
export interface Drainer {
  /**
   * Stops accepting, closes at once every connection with no answer in
   * progress, lets the answers in progress finish (their connections close
   * after them) and closes whatever is still open `drainMs` later. Resolves
   * once every connection is gone and `closeApp` (the app's own close, which
   * then finds nothing left to wait for) has resolved.
   */
  drain(drainMs: number, closeApp: () => Promise<void>): Promise<void>;
}

/** Node's own field: the response a connection is answering, set from the request's headers until the response finished. */
type HttpConnection = Socket & { _httpMessage?: ServerResponse | null; _parent?: Socket };

/**
 * Keeps the set of the server's open TCP connections, so shutdown can close
 * the ones Node would not: `server.close()` stops Node's headers and request
 * deadlines, and its closeIdleConnections() leaves alone a connection that has
 * sent nothing or part of its headers, so one silent client kept a stopping
 * server alive for ever. Costs a set entry per open connection, nothing per
 * request.
 */
export function trackConnections(server: HttpServer): Drainer {
  const open = new Set<Socket>();
  // Over TLS, HTTP is spoken on the TLS socket made over each TCP one.
  const secure = new WeakMap<Socket, HttpConnection>();
  function onClose(this: Socket): void {
    open.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    // 'close' comes once: on() spares the wrapper once() would allocate per connection.
    socket.on('close', onClose);
  });
  server.on('secureConnection', (tls: TLSSocket) => {
    const raw = (tls as HttpConnection)._parent;
    if (raw !== undefined) secure.set(raw, tls);
  });
  const tls = 'setSecureContext' in server;

  /** Closes the connections with no answer in progress; the others close once their answer is sent. */
  const sweep = (): void => {
    for (const raw of open) {
      const conn: HttpConnection | undefined = tls ? secure.get(raw) : raw;
      const res = conn?._httpMessage;
      if (conn === undefined || res === undefined || res === null || res.writableFinished) {
        // Silent, mid-headers, idle between requests, or (TLS) still in its handshake.
        (conn ?? raw).destroy();
        raw.destroy();
        continue;
      }
      if (!res.headersSent) res.shouldKeepAlive = false;
      else res.once('finish', () => conn.end());
      // A client that never reads the end of its answer is closed by the drain deadline below.
    }
  };

  return {
    async drain(drainMs, closeApp) {
      const closed = new Promise<void>((resolve) => {
        if (!server.listening) resolve();
        else server.close(() => resolve());
      });
      sweep();
      const deadline = setTimeout(() => {
        for (const raw of open) raw.destroy();
      }, drainMs);
      try {
        await Promise.all([closed, closeApp()]);
      } finally {
        clearTimeout(deadline);
      }
    },
  };
}
