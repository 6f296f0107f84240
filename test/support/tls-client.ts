import { connect, type PeerCertificate } from 'node:tls';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../../src/protocol/index.js';
import type { UpdateInfoRequest } from '../../src/protocol/types.js';
import { exampleRequest } from './fixtures.js';
import { responseComplete } from './raw-http.js';

/** What a raw station-like TLS exchange produced. */
export interface TlsExchange {
  readonly status: number;
  readonly body: Buffer;
  /** The server certificate presented in this handshake. */
  readonly serverCertificate: PeerCertificate;
}

export interface TlsExchangeOptions {
  readonly port: number;
  /** PEM CA that must verify the server. */
  readonly ca: string;
  /** Client certificate and key (PEM), for mutual TLS. */
  readonly cert?: string;
  readonly key?: string;
  /** Extra header lines ending in CRLF, e.g. a token. */
  readonly headerLines?: string;
  readonly request: UpdateInfoRequest;
  /** The client's own address (any of 127.0.0.0/8 on Linux), to come from many sources. */
  readonly localAddress?: string;
}

/** A request in a station's exact bytes for `eui` (ID6 router), reporting no credentials. */
export function stationRequest(eui: string, overrides: Partial<UpdateInfoRequest> = {}): UpdateInfoRequest {
  return exampleRequest({ router: eui, cupsUri: null, keys: [], station: '2.0.6(linux/test) 2026-01-01 00:00:00', ...overrides });
}

/** One update-info exchange over a fresh TLS connection, read until the server closes or the body is complete. */
export function tlsExchange(options: TlsExchangeOptions): Promise<TlsExchange> {
  return new Promise((resolve, reject) => {
    const request = encodeStationHttpRequest({
      host: `127.0.0.1:${options.port}`,
      body: encodeStationRequestBody(options.request),
      ...(options.headerLines === undefined ? {} : { headerLines: options.headerLines }),
    });
    const socket = connect({
      host: '127.0.0.1',
      port: options.port,
      ca: options.ca,
      ...(options.cert === undefined ? {} : { cert: options.cert }),
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    const chunks: Buffer[] = [];
    let serverCertificate: PeerCertificate | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0 || serverCertificate === undefined) {
        reject(new Error(`no HTTP response: ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
        return;
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(all.subarray(0, end).toString('latin1'))?.[1]);
      resolve({ status, body: all.subarray(end + 4), serverCertificate });
    };
    socket.on('secureConnect', () => {
      serverCertificate = socket.getPeerCertificate();
      socket.write(request);
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (responseComplete(Buffer.concat(chunks))) finish();
    });
    socket.on('end', finish);
    socket.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}
