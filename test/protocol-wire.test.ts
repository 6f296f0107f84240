// The codec over a real socket: a station's raw request bytes into Node's HTTP
// parser, and a 200 + Content-Length octet-stream answer back (PROTOCOL.md 1, 2).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_EXAMPLE } from './support/fixtures.js';
import {
  decodeResponse,
  encodeResponse,
  encodeStationHttpRequest,
  encodeStationRequestBody,
  NOTHING_TO_CHANGE,
  parseUpdateInfoRequest,
  UPDATE_INFO_PATH,
  type UpdateInfoRequest,
} from '../src/protocol/index.js';

interface Seen {
  method: string | undefined;
  url: string | undefined;
  rawHeaders: string[];
  contentLength: string | undefined;
  request: UpdateInfoRequest;
}

let server: Server;
let port: number;
const seen: Seen[] = [];

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const request = parseUpdateInfoRequest(body);
      seen.push({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, contentLength: req.headers['content-length'], request });
      const answer = request.cupsUri === 'http://127.0.0.1:6090' ? encodeResponse({ cupsUri: 'http://127.0.0.1:6091', tcUri: 'ws://127.0.0.1:6092' }) : NOTHING_TO_CHANGE;
      // An explicit Content-Length: without it Node sends chunked, which the station cannot read.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': answer.length });
      res.end(answer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

/** Send raw bytes like a station and return the raw response once the server closes or the body is complete. */
async function exchange(raw: Buffer): Promise<{ head: string; body: Buffer }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(raw);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  for (;;) {
    const all = Buffer.concat(chunks);
    const end = all.indexOf('\r\n\r\n');
    if (end >= 0) {
      const head = all.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length && all.length - end - 4 >= Number(length[1])) {
        socket.destroy();
        return { head, body: all.subarray(end + 4, end + 4 + Number(length[1])) };
      }
    }
    await Promise.race([
      once(socket, 'data'),
      once(socket, 'close').then(() => {
        throw new Error(`connection closed before a complete response: ${Buffer.concat(chunks).toString('latin1')}`);
      }),
    ]);
  }
}

const REQUEST: UpdateInfoRequest = PROTOCOL_EXAMPLE;

describe('[1] [2] station exchange over a real socket', () => {
  it('Node parses the padded Content-Length (1.2), sees only the station headers (1.1) on /update-info (1.3)', async () => {
    const raw = encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(REQUEST) });
    expect(raw.toString('latin1')).toContain('Content-Length:   232\r\n');
    const { head, body } = await exchange(raw);
    const last = seen.at(-1) as Seen;
    expect(last.method).toBe('POST');
    expect(last.url).toBe(UPDATE_INFO_PATH);
    expect(last.contentLength).toBe('232');
    expect(last.rawHeaders).toEqual(['Host', `127.0.0.1:${port}`, 'Content-Type', 'application/json', 'Content-Length', '232']);
    expect(last.request).toEqual(REQUEST);
    // The answer: 200, octet-stream, a Content-Length and no chunking (2).
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/\r\ncontent-type: application\/octet-stream/i);
    expect(head).toMatch(/\r\ncontent-length: 54/i);
    expect(head).not.toMatch(/transfer-encoding/i);
    expect(decodeResponse(body)).toMatchObject({ cupsUri: 'http://127.0.0.1:6091', tcUri: 'ws://127.0.0.1:6092' });
  });

  it('token header lines arrive as ordinary headers (4.3) and the answer is 14 zero bytes (2.1)', async () => {
    const raw = encodeStationHttpRequest({
      host: `127.0.0.1:${port}`,
      body: encodeStationRequestBody({ ...REQUEST, cupsUri: 'https://cups.example.com:443' }),
      headerLines: 'Authorization: Bearer cupstok456\n',
    });
    const { body } = await exchange(raw);
    const last = seen.at(-1) as Seen;
    expect(last.rawHeaders.slice(-2)).toEqual(['Authorization', 'Bearer cupstok456']);
    expect(last.rawHeaders).toHaveLength(8);
    expect(body.equals(NOTHING_TO_CHANGE)).toBe(true);
  });
});
