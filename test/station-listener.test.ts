import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody, NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { LogLines } from './support/log-lines.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

/**
 * What the station listener's node server does around the plain update-info
 * handler, over a real socket (app.inject() bypasses it): which requests reach
 * the handler, what an unexpected failure answers and leaves in the log and
 * metrics, and the answer while the server is closing.
 */

const EUI = '0016C001FF10A235';
/** An EUI the registry does not know: its exchange reads the database and records it as unknown. */
const STRANGER = '0016C001FF10A999';
const SECRET = 'connection string with password hunter2';

const logs = new LogLines();
const { lines } = logs;
let srv: TestServer;

/** The registry, except that recording an unknown station fails with an error that is not the client's business. */
function failingUnknown(registry: StationRegistry): StationRegistry {
  return new Proxy(registry, {
    get(target, prop) {
      if (prop === 'recordUnknown') return async () => Promise.reject(new Error(SECRET));
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  const logger = pino({ level: 'info' }, logs);
  srv = await startTestServer({ logger, wrapRegistry: failingUnknown });
  await srv.runtime.registry.createStation({ eui: EUI });
});
afterAll(async () => srv?.stop());

function station(eui: string, path = '/update-info'): Buffer {
  const bytes = encodeStationHttpRequest({ host: `127.0.0.1:${srv.port}`, body: encodeStationRequestBody(stationRequest(eui)) });
  return path === '/update-info' ? bytes : Buffer.from(bytes.toString('latin1').replace('POST /update-info ', `POST ${path} `), 'latin1');
}

async function metric(name: string): Promise<number> {
  const text = (await rawExchange(srv.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).body.toString();
  const escaped = name.replace(/[{}"]/g, (c) => `\\${c}`);
  return Number(new RegExp(`^${escaped} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

describe('the station listener', () => {
  it('serves the station path with a query string, and answers other methods on it with a 404 that names the route', async () => {
    const r = await rawExchange(srv.port, station(EUI, '/update-info?source=test'));
    expect(r.status).toBe(200);
    expect(r.body).toEqual(NOTHING_TO_CHANGE);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const other = await rawExchange(srv.port, `${method} /update-info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(other.status).toBe(404);
      expect(other.body.toString()).toContain(`no route ${method} /update-info; stations use POST /update-info`);
    }
    const head = await rawExchange(srv.port, 'HEAD /update-info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head.status).toBe(404);
  });

  it('reads a JSON body that starts with a byte order mark, as the Fastify reader did', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(encodeStationRequestBody(stationRequest(EUI)))]);
    const head = `POST /update-info HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await rawExchange(srv.port, Buffer.concat([Buffer.from(head, 'latin1'), body]));
    expect(r.status).toBe(200);
    expect(r.body).toEqual(NOTHING_TO_CHANGE);
  });

  it('answers an unexpected failure with 500 and no detail, logs it as an error with the EUI, and counts it', async () => {
    const before = await metric('bscups_update_info_requests_total{outcome="error"}');
    lines.length = 0;
    const r = await rawExchange(srv.port, station(STRANGER));
    expect(r.status).toBe(500);
    expect(r.body.toString()).toBe('internal: internal server error; see the server log\n');
    expect(r.raw.toString('latin1')).not.toContain('hunter2');
    const logged = lines.find((l) => l.level === 50);
    expect(logged).toMatchObject({ eui: STRANGER, code: 'internal' });
    expect(JSON.stringify(logged)).toContain(SECRET);
    expect(await metric('bscups_update_info_requests_total{outcome="error"}')).toBe(before + 1);
    // The process is unharmed: the next station is answered.
    expect((await rawExchange(srv.port, station(EUI))).status).toBe(200);
  });

  it('answers a request that arrives while the server is closing with 503 and closes the connection', async () => {
    // A keep-alive connection with an exchange in progress, so closing the server waits for it.
    const socket = connect({ host: '127.0.0.1', port: srv.port });
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const first = station(EUI);
    socket.write(first.subarray(0, first.length - 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = srv.server.app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The rest of the first exchange, then a second one on the same connection.
    socket.write(Buffer.concat([first.subarray(first.length - 10), station(EUI)]));
    await ended;
    await closing;
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((a) => Number(a.slice(9, 12)))).toEqual([200, 503]);
    expect(answers[1]).toMatch(/\r\nconnection: close\r\n/i);
  });
});
