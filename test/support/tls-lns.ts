import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/**
 * A tiny LNS for the health stories over wss: the router-info endpoint of a
 * Basics Station LNS, over TLS with client certificates requested from the
 * station CA. It accepts a station whose client certificate `accepts` (SHA-256
 * of its DER, hex; or whose request headers, a token's, it accepts), answering
 * router-info with where to go, and refuses any
 * other with 401 on the WebSocket upgrade, which the station counts as a failed
 * TC attempt (PROTOCOL.md 8: back at CUPS every 450 s).
 */
export interface TlsLns {
  readonly port: number;
  readonly uri: string;
  /** What was refused so far: the client certificate's fingerprint, else the Authorization header (a token). */
  readonly refused: string[];
  close(): Promise<void>;
}

export async function startTlsLns(
  pki: { readonly cert: string; readonly key: string; readonly ca: string },
  accepts: (fingerprint: string, authorized: boolean, headers: IncomingHttpHeaders) => boolean,
): Promise<TlsLns> {
  const server: Server = createServer({ cert: await readFile(pki.cert), key: await readFile(pki.key), ca: await readFile(pki.ca), requestCert: true, rejectUnauthorized: false });
  const refused: string[] = [];
  const open = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => undefined);
    const tls = req.socket as TLSSocket;
    const peer = tls.getPeerCertificate();
    const fingerprint = peer.raw === undefined ? '' : createHash('sha256').update(peer.raw).digest('hex');
    if (!accepts(fingerprint, tls.authorized, req.headers)) {
      refused.push(fingerprint !== '' ? fingerprint : String(req.headers.authorization ?? ''));
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    // The router's request is read and answered with where its traffic goes.
    socket.once('data', () => {
      const text = Buffer.from(JSON.stringify({ router: '::1', muxs: 'muxs-::0', uri: `wss://127.0.0.1:${port}/traffic/router-1` }));
      socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    uri: `wss://127.0.0.1:${port}`,
    refused,
    async close() {
      for (const s of open) s.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
