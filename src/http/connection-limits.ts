import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

/**
 * How long a client may take and how many may be connected at once. Node's
 * defaults (Fastify sets requestTimeout and the socket timeout to 0) let a client
 * that sends headers and one body byte hold its connection forever; enough of
 * them exhaust the process's file descriptors and real stations are refused.
 */
export interface ConnectionLimits {
  /** Whole request (headers and body) must arrive within this; the response is not counted. Over TLS, the whole handshake too. */
  readonly requestTimeoutMs: number;
  /** Headers must arrive within this; over TLS, the client may also be silent this long during the handshake. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (a stalled download); see armIdleTimeout for where it is armed. */
  readonly idleTimeoutMs: number;
  /** Connections beyond this are closed as soon as they are accepted. */
  readonly maxConnections: number;
  /** Connections from one address beyond this are closed as soon as they are accepted; 0 or absent: no such cap. */
  readonly maxConnectionsPerAddress?: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = Object.freeze({
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 4096,
});

/** The admin listener's defaults: the station's deadlines, and a cap of its own well below any file limit. */
export const DEFAULT_ADMIN_LIMITS: ConnectionLimits = Object.freeze({ ...DEFAULT_LIMITS, maxConnections: 256 });

/** The limits from the config's seconds. */
export function limitsFromConfig(config: {
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly keepAliveTimeout: number;
  readonly idleTimeout: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress?: number;
}): ConnectionLimits {
  return {
    requestTimeoutMs: Math.round(config.requestTimeout * 1000),
    headersTimeoutMs: Math.round(config.headersTimeout * 1000),
    keepAliveTimeoutMs: Math.round(config.keepAliveTimeout * 1000),
    idleTimeoutMs: Math.round(config.idleTimeout * 1000),
    maxConnections: config.maxConnections,
    ...(config.maxConnectionsPerAddress !== undefined && config.maxConnectionsPerAddress > 0 ? { maxConnectionsPerAddress: config.maxConnectionsPerAddress } : {}),
  };
}

/** The admin listener's limits from the config's seconds (its own deadlines and cap, flags --admin-…). */
export function adminLimitsFromConfig(config: {
  readonly adminRequestTimeout: number;
  readonly adminHeadersTimeout: number;
  readonly adminKeepAliveTimeout: number;
  readonly adminIdleTimeout: number;
  readonly adminMaxConnections: number;
}): ConnectionLimits {
  return limitsFromConfig({
    requestTimeout: config.adminRequestTimeout,
    headersTimeout: config.adminHeadersTimeout,
    keepAliveTimeout: config.adminKeepAliveTimeout,
    idleTimeout: config.adminIdleTimeout,
    maxConnections: config.adminMaxConnections,
  });
}

/**
 * Options for node's http/https server constructor. Node checks the request and
 * headers deadlines on a timer (30 s by default), which would let a stalled
 * client outlive a 5 s deadline sixfold: check several times per deadline.
 * requestTimeout covers receiving the request only, so a long firmware download
 * to a slow station is not cut by it (the idle timeout guards that phase).
 * Over TLS, Node's handshake timer is turned off: a TLS server made with these
 * options needs handshakeDeadlines() too, or a silent client is never closed.
 */
export function nodeServerOptions(limits: ConnectionLimits, tls: boolean): Record<string, number> {
  const checkEvery = Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 5)));
  return {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkEvery,
    // Node's handshake timer judges before the server has read what is waiting: handshakeDeadlines() does it instead.
    ...(tls ? { handshakeTimeout: 0 } : {}),
  };
}

/**
 * Closes the request's connection once it has had no traffic either way for
 * `idleTimeoutMs` (a stalled download, an answer the client stopped reading).
 * Armed on the requests whose answer can take long or may not be read:
 * everything Fastify serves, a station's exchange that goes to the database or
 * streams firmware, every error answer, and an up-to-date poll whose answer
 * could not be written whole at once (a client pipelining polls it never
 * reads). Any other up-to-date poll, answered from memory and written whole,
 * is covered by the request, headers and keep-alive deadlines, and does not
 * pay for a timer refreshed on every read and write that would never fire.
 * Node sets a connection's timer back to the server's (none) at its next
 * request, so each request that needs the timer arms it.
 */
export function armIdleTimeout(req: IncomingMessage, limits: Pick<ConnectionLimits, 'idleTimeoutMs'>): void {
  const { socket } = req;
  // An injected request (Fastify's inject, in tests) has a stand-in socket without timers.
  if (limits.idleTimeoutMs > 0 && socket.timeout !== limits.idleTimeoutMs && typeof socket.setTimeout === 'function') socket.setTimeout(limits.idleTimeoutMs);
}

/**
 * The TLS handshake deadlines: a client that sends nothing for
 * `headersTimeoutMs` while its handshake is unfinished, or has not finished it
 * `requestTimeoutMs` after it was accepted, is closed. Node's own
 * handshakeTimeout is a timer started at accept and run before the event loop
 * reads sockets: in a start-up storm the loop is busy with other stations'
 * handshakes for seconds, and a station whose bytes had long arrived (unread,
 * in the kernel) was reset. Here a deadline that comes due is judged only
 * after one more turn of the loop has read what was waiting (setImmediate runs
 * after the poll phase); bytes read since the last look are the client's
 * progress and earn it another `headersTimeoutMs`, up to the whole bound.
 * Bytes are counted on the TCP socket, as the TLS layer reads them. The whole
 * bound is wall time from accept, the server's own busy time included: it
 * stops a client that drips its handshake, and only a server more than
 * `requestTimeoutMs` behind on one connection would cut a prompt station.
 */
export function handshakeDeadlines(server: TlsServer, limits: ConnectionLimits, onClosed: () => void = () => undefined): void {
  const idleMs = limits.headersTimeoutMs;
  const wholeMs = limits.requestTimeoutMs;
  if (idleMs <= 0 && wholeMs <= 0) return;
  // Unfinished handshakes by peer address and port (what the TLS socket reports too), and by
  // TCP socket; the functions are shared, so a connection costs one record and one timer.
  const byPeer = new Map<string, Handshake>();
  const bySocket = new WeakMap<Socket, Handshake>();

  const arm = (h: Handshake): void => {
    const left = wholeMs > 0 ? wholeMs - (Date.now() - h.accepted) : idleMs;
    h.timer = setTimeout(due, Math.max(0, idleMs > 0 ? Math.min(idleMs, left) : left), h);
    h.timer.unref();
  };
  // Judged after the poll phase that follows: what the client sent meanwhile has been read.
  const due = (h: Handshake): void => {
    setImmediate(judge, h);
  };
  const judge = (h: Handshake): void => {
    if (byPeer.get(h.peer) !== h || h.socket.destroyed) return;
    const read = h.socket.bytesRead;
    const over = wholeMs > 0 && Date.now() - h.accepted >= wholeMs;
    if (!over && read > h.seen) {
      h.seen = read;
      arm(h);
      return;
    }
    byPeer.delete(h.peer);
    h.socket.destroy();
    onClosed();
  };
  const forget = (h: Handshake | undefined): void => {
    if (h === undefined) return;
    clearTimeout(h.timer);
    if (byPeer.get(h.peer) === h) byPeer.delete(h.peer);
  };
  function onClose(this: Socket): void {
    forget(bySocket.get(this));
  }

  server.on('connection', (socket: Socket) => {
    const h: Handshake = { socket, peer: peerOf(socket), accepted: Date.now(), seen: socket.bytesRead, timer: undefined };
    byPeer.set(h.peer, h);
    bySocket.set(socket, h);
    socket.once('close', onClose);
    arm(h);
  });
  // The handshake is done: from here the HTTP deadlines (headers, request, idle) apply.
  server.on('secureConnection', (tls: TLSSocket) => {
    forget(byPeer.get(peerOf(tls)));
  });
}

/** A TLS connection whose handshake is not finished. */
interface Handshake {
  readonly socket: Socket;
  readonly peer: string;
  readonly accepted: number;
  /** Bytes read from the client at the last look. */
  seen: number;
  timer: NodeJS.Timeout | undefined;
}

function peerOf(socket: Socket | TLSSocket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

/** Applies the connection cap; `onRefused` hears of each connection closed because of it. */
export function capConnections(server: Server, limits: ConnectionLimits, onRefused: () => void): void {
  server.maxConnections = limits.maxConnections;
  // Node closes a connection over maxConnections at once, without a response: a station
  // counts that as a network error and keeps its regular credentials (PROTOCOL.md 5.3),
  // where a 503 would send it to its backup set.
  server.on('drop', onRefused);
}

/**
 * Caps the connections open from one address (off when `max` is 0): one more
 * is closed as soon as it is accepted, like the global cap, without an answer.
 * Off by default because gateways behind one NAT share an address; for a
 * network where each gateway has its own, it keeps one host from taking the
 * whole global cap. Costs a map entry per open connection, nothing per request.
 */
export function capPerAddress(server: Server, max: number, onRefused: () => void): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  const addressOf = new WeakMap<Socket, string>();
  function onClose(this: Socket): void {
    const address = addressOf.get(this);
    if (address === undefined) return;
    const left = (open.get(address) ?? 1) - 1;
    if (left <= 0) open.delete(address);
    else open.set(address, left);
  }
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      onRefused();
      return;
    }
    open.set(address, count + 1);
    addressOf.set(socket, address);
    socket.on('close', onClose);
  });
}

/** Collapses a burst of refusals into one log line per interval, with the count. */
export function refusalReporter(report: (refused: number) => void, intervalMs = 10_000): () => void {
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    pending += 1;
    if (timer !== undefined) return;
    report(pending);
    pending = 0;
    timer = setTimeout(() => {
      timer = undefined;
      if (pending > 0) report(pending);
      pending = 0;
    }, intervalMs);
    timer.unref();
  };
}
