import { randomBytes } from 'node:crypto';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { stationTransport } from './cups-tls.js';
import type { CredentialFiles } from './home.js';

/** What a TC connection attempt found (see schedule.ts TcOutcome). */
export type TcProbe = 'connected' | 'refused' | 'rejected' | 'unanswered';

/**
 * Tries the TC URI as the station's TC engine does first: a WebSocket to
 * `<tcUri>/router-info` that sends `{"router": …}` and reads one answer
 * (PROTOCOL.md 8). The outcomes, and the rhythm each gives a real station:
 * - refused: the connection refused or reset, a name that does not resolve, or
 *   an HTTP error on the WebSocket upgrade (back at CUPS every 450 s);
 * - rejected: router-info answered with an error (back every 60 s);
 * - unanswered: no answer to SYN within `timeoutMs` (every ~25-32 min);
 * - connected: router-info answered with where to go. A listener that accepts
 *   and never answers is also taken as connected: a real station waits for
 *   that answer for about 694 days and never calls CUPS early (PROTOCOL.md 8).
 * The simulator does not go on to the muxs connection: a failure there leaves
 * the rhythm untouched as well.
 *
 * Over wss with the station's tc.* files (`files` with a trust), it connects as
 * the station does (PROTOCOL.md 4): the LNS certificate checked against tc.trust,
 * a client certificate from tc.crt/tc.key, or the token in tc.key sent as header
 * lines. A handshake that fails, or an LNS that refuses the credential on the
 * upgrade, is a refused attempt. A wss URI without a tc.trust is refused too: the
 * station needs the trust for any TLS scheme and without it makes no TLS connection
 * (PROTOCOL.md 4.1), so it never reaches a wss LNS.
 */
export function probeTc(tcUri: string, timeoutMs = 5_000, router = '1', files?: CredentialFiles): Promise<TcProbe> {
  let url: URL;
  try {
    url = new URL(tcUri);
  } catch {
    return Promise.resolve('refused');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'wss:';
  const port = Number(url.port === '' ? (secure ? 443 : 80) : url.port);
  if (!(port > 0)) return Promise.resolve('refused');
  let tls: ConnectionOptions | undefined;
  let headerLines = '';
  if (secure) {
    if (files === undefined || files.trust === null) return Promise.resolve('refused');
    try {
      const transport = stationTransport({ tls: true, host, port, hostPort: url.host, servername: isIP(host) === 0 ? host : undefined }, files, 'tc');
      tls = transport.tls;
      headerLines = transport.headerLines ?? '';
    } catch {
      // Credential files the station cannot use: its TLS set-up fails, a failed attempt.
      return Promise.resolve('refused');
    }
  }
  return new Promise((resolve) => {
    const socket: Socket = tls !== undefined ? connectTls({ host, port, ...tls }) : connectTcp({ host, port });
    let connected = false;
    let settled = false;
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    const done = (outcome: TcProbe): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(outcome);
    };
    // A TLS handshake (with a client certificate) needs real CPU time, which a scaled-down timeout must
    // not cut short: a loaded machine would turn an LNS that answers into one that drops packets. The
    // station's own timeouts are minutes long, so waiting up to TLS_FLOOR_MS is never more forgiving.
    socket.setTimeout(tls === undefined ? timeoutMs : Math.max(timeoutMs, TLS_FLOOR_MS), () => done(connected ? 'connected' : 'unanswered'));
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      connected = true;
      const path = `${url.pathname.replace(/\/$/, '')}/router-info`;
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${headerLines}\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buffered.subarray(0, end).toString('latin1'))?.[1]);
        if (status !== 101) return done('refused');
        upgraded = true;
        buffered = buffered.subarray(end + 4);
        socket.write(maskedTextFrame(JSON.stringify({ router })));
      }
      const frame = readFrame(buffered);
      if (frame === undefined) return;
      // A close frame instead of an answer: a failed attempt, as a reset is.
      if (frame.opcode === 8) return done('refused');
      const text = frame.text;
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        return done('rejected');
      }
      const a = answer as Record<string, unknown> | null;
      done(a !== null && typeof a === 'object' && typeof a['error'] === 'string' ? 'rejected' : typeof a?.['uri'] === 'string' ? 'connected' : 'rejected');
    });
    socket.once('error', () => done('refused'));
    // Closed before router-info answered: the station counts a failed TC attempt.
    socket.once('close', () => done('refused'));
  });
}

/** The shortest wait for a TLS probe's handshake and answer, whatever the time scale. */
const TLS_FLOOR_MS = 2_000;

/** A client's text frame (clients mask, RFC 6455 5.3). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return Buffer.concat([head, mask, body]);
}

/** The first complete unmasked frame in `b`, or undefined until it is all there. */
function readFrame(b: Buffer): { opcode: number; text: string } | undefined {
  if (b.length < 2) return undefined;
  let len = (b[1] as number) & 0x7f;
  let at = 2;
  if (len === 126) {
    if (b.length < 4) return undefined;
    len = b.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (b.length < 10) return undefined;
    len = Number(b.readBigUInt64BE(2));
    at = 10;
  }
  if (b.length < at + len) return undefined;
  return { opcode: (b[0] as number) & 0x0f, text: b.subarray(at, at + len).toString('utf8') };
}
