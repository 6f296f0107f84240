import { createHash, type Hash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** How much of an answer to keep while reading it; by default only the byte count. */
export interface ReadOptions {
  /** Keep the first this many body bytes, to compare with the expected answer. */
  readonly keepPrefix?: number;
  /** SHA-256 the body from this offset on (the update after the CUPS response head). */
  readonly hashFrom?: number;
  /** Fail when nothing arrives for this long (the station re-arms its 60 s timer on every chunk). */
  readonly idleTimeoutMs?: number;
  /** Speak TLS, verifying the server with this CA (PEM); a full handshake, no session offered, as a station. */
  readonly tlsCa?: string;
}

/** One answer as the station reads it: status, Content-Length, and what was asked to be kept. */
export interface StationAnswer {
  readonly status: number;
  readonly contentLength: number;
  /** The first `keepPrefix` body bytes (fewer when the body is shorter). */
  readonly prefix: Buffer;
  /** Hex SHA-256 of the body from `hashFrom`, when asked. */
  readonly sha256?: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** The station reads the head into one 8 KB buffer. */
const MAX_HEAD = 8192;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * Reads one HTTP response the way a Basics Station does: the head must fit in
 * 8 KB and carry a Content-Length (a chunked body is an error), then exactly that
 * many body bytes. Bytes past the body are an error too: nothing was pipelined.
 */
class ResponseReader {
  #head: Buffer | undefined = Buffer.alloc(0);
  #status = 0;
  #length = 0;
  #received = 0;
  #prefix: Buffer = Buffer.alloc(0);
  #hash: Hash | undefined;

  constructor(private readonly opts: ReadOptions) {}

  /** Feeds a chunk; returns the answer once complete, undefined while more is needed; throws on a malformed answer. */
  feed(chunk: Buffer): StationAnswer | undefined {
    let body = chunk;
    if (this.#head !== undefined) {
      const buf = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        if (buf.length > MAX_HEAD) throw new Error(`response head is over ${MAX_HEAD} bytes`);
        this.#head = buf;
        return undefined;
      }
      this.#parseHead(buf.toString('latin1', 0, end));
      this.#head = undefined;
      if (this.opts.hashFrom !== undefined) this.#hash = createHash('sha256');
      body = buf.subarray(end + 4);
    }
    this.#take(body);
    if (this.#received > this.#length) throw new Error(`server sent ${this.#received} body bytes for Content-Length ${this.#length}`);
    if (this.#received < this.#length) return undefined;
    return {
      status: this.#status,
      contentLength: this.#length,
      prefix: this.#prefix,
      ...(this.#hash === undefined ? {} : { sha256: this.#hash.digest('hex') }),
    };
  }

  #parseHead(head: string): void {
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (status === null) throw new Error(`not an HTTP response: ${JSON.stringify(head.slice(0, 40))}`);
    this.#status = Number(status[1]);
    if (/\r\ntransfer-encoding:/i.test(head)) throw new Error('chunked response: a station cannot read it (PROTOCOL.md 2)');
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (length === null) throw new Error('response without Content-Length: a station cannot read it (PROTOCOL.md 2)');
    this.#length = Number(length[1]);
  }

  #take(body: Buffer): void {
    if (body.length === 0) return;
    const keep = this.opts.keepPrefix ?? 0;
    if (this.#prefix.length < keep) {
      this.#prefix = Buffer.concat([this.#prefix, body.subarray(0, keep - this.#prefix.length)]);
    }
    const from = this.opts.hashFrom;
    if (this.#hash !== undefined && from !== undefined && this.#received + body.length > from) {
      this.#hash.update(body.subarray(Math.max(0, from - this.#received)));
    }
    this.#received += body.length;
  }
}

/**
 * One station exchange on a NEW connection, as a real station does it: connect,
 * write the exact request bytes, read the answer to its Content-Length, close.
 */
export function exchangeOnce(port: number, request: Buffer, opts: ReadOptions = {}): Promise<StationAnswer> {
  return new Promise((resolve, reject) => {
    const reader = new ResponseReader(opts);
    const socket = opts.tlsCa === undefined ? connect({ host: '127.0.0.1', port }) : tlsConnect({ host: '127.0.0.1', port, ca: opts.tlsCa });
    socket.setNoDelay(true);
    socket.setTimeout(opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    socket.once(opts.tlsCa === undefined ? 'connect' : 'secureConnect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      let answer: StationAnswer | undefined;
      try {
        answer = reader.feed(chunk);
      } catch (e) {
        socket.destroy();
        reject(e as Error);
        return;
      }
      if (answer === undefined) return;
      socket.destroy();
      resolve(answer);
    });
    socket.once('timeout', () => socket.destroy(new Error('no data for the idle timeout')));
    socket.once('error', reject);
    // A close before the answer was complete: reject is a no-op once settled.
    socket.once('close', () => reject(new Error('connection closed before the answer was complete')));
  });
}

/**
 * A persistent connection sending the same station bytes one exchange at a
 * time (no pipelining). Reconnects when the server closed it between exchanges.
 * With `tlsCa` it speaks TLS (for untimed setup: a real station never reuses a connection).
 */
export class KeepAliveConnection {
  #socket: Socket | undefined;
  #pending: { reader: ResponseReader; resolve: (a: StationAnswer) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly port: number,
    private readonly tlsCa?: string,
  ) {}

  exchange(request: Buffer, opts: ReadOptions = {}): Promise<StationAnswer> {
    if (this.#pending !== undefined) return Promise.reject(new Error('one exchange at a time per connection'));
    return new Promise((resolve, reject) => {
      this.#pending = { reader: new ResponseReader(opts), resolve, reject };
      const socket = this.#socket ?? this.#open(opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
      socket.write(request);
    });
  }

  /** Closes the connection; an exchange still in flight fails. */
  close(): void {
    const socket = this.#socket;
    if (socket !== undefined) this.#fail(socket, new Error('connection closed by the bench'));
  }

  #open(idleTimeoutMs: number): Socket {
    // Writes before the TLS handshake is done are held and sent after it.
    const socket = this.tlsCa === undefined ? connect({ host: '127.0.0.1', port: this.port }) : tlsConnect({ host: '127.0.0.1', port: this.port, ca: this.tlsCa });
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs);
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const pending = this.#pending;
      if (pending === undefined) return this.#fail(socket, new Error('server sent bytes nobody asked for'));
      let answer: StationAnswer | undefined;
      try {
        answer = pending.reader.feed(chunk);
      } catch (e) {
        return this.#fail(socket, e as Error);
      }
      if (answer === undefined) return;
      this.#pending = undefined;
      pending.resolve(answer);
    });
    socket.on('timeout', () => {
      if (this.#pending !== undefined) this.#fail(socket, new Error('no data for the idle timeout'));
    });
    socket.on('error', (e) => this.#fail(socket, e));
    socket.on('close', () => this.#fail(socket, new Error('connection closed before the answer was complete')));
    return socket;
  }

  #fail(socket: Socket, error: Error): void {
    socket.destroy();
    // A late event from a connection already replaced must not fail the exchange on its successor.
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}
