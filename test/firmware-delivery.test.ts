import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { firmwareTarget } from './support/firmware-target.js';
import { LogLines } from './support/log-lines.js';
import { rawExchange, responseComplete } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

const KEY_CRC = 3157685580;
const UPDATE = randomBytes(8 * 1024 * 1024);
/** A small update script: its one chunk is on the wire before the blob stream has even reported its end. */
const SMALL = Buffer.from('#!/bin/sh\nexit 0\n');
const REQUEST_TIMEOUT_S = 1;
const IDLE_TIMEOUT_S = 1;

let srv: TestServer;
const logs = new LogLines();

beforeAll(async () => {
  srv = await startTestServer({
    logger: pino({ level: 'info' }, logs),
    // The whole-request deadline is far shorter than the slow download below: it must not cut a response.
    config: { requestTimeout: REQUEST_TIMEOUT_S, headersTimeout: 0.5, idleTimeout: IDLE_TIMEOUT_S },
  });
  await srv.runtime.blobs.put('fwupgrades', 'fw-2.0.0', UPDATE, { size: UPDATE.length });
  await srv.runtime.blobs.put('fwupgrades', 'fw-small', SMALL, { size: SMALL.length });
});
afterAll(async () => srv.stop());

async function stationWithFirmware(eui: string, update = UPDATE): Promise<void> {
  const { registry } = srv.runtime;
  await registry.createStation({ eui });
  await registry.setFirmwareTarget(eui, firmwareTarget(update === UPDATE ? 'fw-2.0.0' : 'fw-small', update, KEY_CRC));
}

function firmwareRequest(eui: string): Buffer {
  return encodeStationHttpRequest({ host: `127.0.0.1:${srv.port}`, body: encodeStationRequestBody(stationRequest(eui, { keys: [KEY_CRC] })) });
}

describe('firmware delivery over a real socket', () => {
  it('does not count an offer when the station hangs up mid-download, records the cut as its own event and logs a warning, not an error', async () => {
    const eui = '00000000000000C1';
    await stationWithFirmware(eui);
    const cutLogged = logs.next((l) => l.eui === eui && /cut off/.test(String(l.msg)));

    const socket = connect({ host: '127.0.0.1', port: srv.port });
    await once(socket, 'connect');
    socket.write(firmwareRequest(eui));
    let received = 0;
    for await (const chunk of socket) {
      received += (chunk as Buffer).length;
      if (received > 1024 * 1024) break; // leaving the loop destroys the socket: the station hangs up
    }

    const line = await cutLogged;
    expect(line.level).toBe(40);
    expect(line.bytesSent).toBeGreaterThan(0);
    expect(line.bytesSent).toBeLessThan(UPDATE.length);
    const station = await srv.runtime.registry.getStation(eui);
    expect(station?.firmware).toMatchObject({ offers: 0, state: 'pending' });
    const events = await srv.runtime.registry.listEvents(eui);
    expect(events.map((e) => e.type)).not.toContain('firmware_offered');
    const cut = events.find((e) => e.type === 'firmware_interrupted');
    expect(cut?.detail).toMatchObject({ package: '2.0.0', size: UPDATE.length });
    expect(Number(cut?.detail?.bytesSent)).toBeGreaterThan(0);
    expect(logs.lines.filter((l) => l.eui === eui && Number(l.level) >= 50)).toEqual([]);
  });

  it('logs a station that hangs up right after asking as a warning with 0 bytes sent, not as a server error', async () => {
    const eui = '00000000000000C3';
    await stationWithFirmware(eui);
    const cutLogged = logs.next((l) => l.eui === eui && /cut off/.test(String(l.msg)));
    const socket = connect({ host: '127.0.0.1', port: srv.port });
    socket.on('error', () => undefined);
    socket.resume();
    const closed = once(socket, 'close');
    await once(socket, 'connect');
    socket.end(firmwareRequest(eui));
    const line = await cutLogged;
    expect(line).toMatchObject({ level: 40, bytesSent: 0, size: UPDATE.length });
    await closed;
    expect(logs.lines.filter((l) => l.reqId === line.reqId && Number(l.level) >= 50)).toEqual([]);
    expect((await srv.runtime.registry.getStation(eui))?.firmware).toMatchObject({ offers: 0 });
  });

  it('closes a download whose station stopped reading after the idle timeout, and records it as cut off', async () => {
    const eui = '00000000000000C4';
    await stationWithFirmware(eui);
    const cutLogged = logs.next((l) => l.eui === eui && /cut off/.test(String(l.msg)));
    const socket = connect({ host: '127.0.0.1', port: srv.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    const closed = once(socket, 'close').then(() => Date.now());
    socket.write(firmwareRequest(eui));
    await once(socket, 'data');
    // The station stops reading but keeps the connection: the kernel buffers fill and nothing moves.
    socket.pause();
    const stalledAt = Date.now();
    const line = await cutLogged;
    expect(line).toMatchObject({ level: 40 });
    expect(Number(line.bytesSent)).toBeLessThan(UPDATE.length);
    socket.resume();
    expect((await closed) - stalledAt).toBeLessThan(IDLE_TIMEOUT_S * 1000 + 3000);
    expect((await srv.runtime.registry.getStation(eui))?.firmware).toMatchObject({ offers: 0 });
  });

  it('counts the offer when the station closes the connection the moment it has the last byte (before the server ends the response)', async () => {
    // The station reads exactly Content-Length bytes and hangs up; the server may learn that its
    // blob stream ended only after the socket closed. Every update byte was written: an offer.
    for (let i = 0; i < 20; i++) {
      const eui = `00000000000001${i.toString(16).toUpperCase().padStart(2, '0')}`;
      await stationWithFirmware(eui, SMALL);
      const recorded = logs.next((l) => l.eui === eui && (l.msg === 'firmware delivered' || /cut off/.test(String(l.msg))));
      const response = await rawExchange(srv.port, firmwareRequest(eui));
      expect(response.body.subarray(response.body.length - SMALL.length).equals(SMALL)).toBe(true);
      expect((await recorded).msg, `download ${i}`).toBe('firmware delivered');
      await expect.poll(async () => (await srv.runtime.registry.getStation(eui))?.firmware?.offers).toBe(1);
      expect((await srv.runtime.registry.listEvents(eui)).map((e) => e.type)).not.toContain('firmware_interrupted');
    }
  });

  it('delivers the whole update to a station reading slower than the request deadline and counts one offer', async () => {
    const eui = '00000000000000C2';
    await stationWithFirmware(eui);
    const delivered = logs.next((l) => l.eui === eui && l.msg === 'firmware delivered');

    const socket = connect({ host: '127.0.0.1', port: srv.port });
    await once(socket, 'connect');
    const started = Date.now();
    socket.write(firmwareRequest(eui));
    // A slow link: the reader takes what the socket holds every 15 ms (one kernel buffer or so), so the
    // 8 MiB download lasts well past the request deadline while bytes keep moving.
    socket.pause();
    const chunks: Buffer[] = [];
    let received = 0;
    let expected = Infinity;
    const all = await new Promise<Buffer>((resolve) => {
      const reader = setInterval(() => {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) {
          chunks.push(chunk);
          received += chunk.length;
        }
        const head = chunks[0]?.toString('latin1') ?? '';
        const end = head.indexOf('\r\n\r\n');
        const length = /content-length:\s*(\d+)/i.exec(head);
        if (end >= 0 && length !== null) expected = end + 4 + Number(length[1]);
        if (received >= expected) {
          clearInterval(reader);
          resolve(Buffer.concat(chunks));
        }
      }, 15);
    });
    socket.destroy();
    const body = all.subarray(all.indexOf('\r\n\r\n') + 4);

    expect(Date.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_S * 1000);
    expect(all.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK');
    expect(responseComplete(all)).toBe(true);
    expect(body.subarray(body.length - UPDATE.length).equals(UPDATE)).toBe(true);
    await delivered;
    expect((await srv.runtime.registry.getStation(eui))?.firmware).toMatchObject({ offers: 1, state: 'offered' });
    expect((await srv.runtime.registry.listEvents(eui)).map((e) => e.type)).toContain('firmware_offered');
  });
});
