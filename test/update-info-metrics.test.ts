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

/**
 * bscups_update_info_requests_total and the latency histogram count every
 * exchange once, by how it ended, firmware downloads included: one cut off is
 * `cut_off`, not lost from the count, and one whose station hung up right at
 * its last byte (before the response had finished) is `ok`, as its offer is.
 */

const KEY_CRC = 3157685580;
const LARGE = randomBytes(8 * 1024 * 1024);
const SMALL = Buffer.from('#!/bin/sh\nexit 0\n');

const logs = new LogLines();
const { lines } = logs;
let srv: TestServer;

beforeAll(async () => {
  const logger = pino({ level: 'info' }, logs);
  srv = await startTestServer({ logger });
  await srv.runtime.blobs.put('fwupgrades', 'fw-large', LARGE, { size: LARGE.length });
  await srv.runtime.blobs.put('fwupgrades', 'fw-small', SMALL, { size: SMALL.length });
});
afterAll(async () => srv?.stop());

async function stationWithFirmware(eui: string, update: Buffer): Promise<Buffer> {
  const { registry } = srv.runtime;
  await registry.createStation({ eui });
  await registry.setFirmwareTarget(eui, firmwareTarget(update === LARGE ? 'fw-large' : 'fw-small', update, KEY_CRC));
  return encodeStationHttpRequest({ host: `127.0.0.1:${srv.port}`, body: encodeStationRequestBody(stationRequest(eui, { keys: [KEY_CRC] })) });
}

async function outcomes(): Promise<{ ok: number; cutOff: number; observed: number }> {
  const text = (await rawExchange(srv.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).body.toString();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    ok: value(/^bscups_update_info_requests_total\{outcome="ok"\} (\d+)/m),
    cutOff: value(/^bscups_update_info_requests_total\{outcome="cut_off"\} (\d+)/m),
    observed: value(/^bscups_update_info_duration_seconds_count (\d+)/m),
  };
}

async function until(what: string, test: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!test()) throw new Error(`timed out waiting for ${what}`);
}

describe('update-info exchange metrics', () => {
  it('counts a firmware download cut off by the station as cut_off, and its latency', async () => {
    const eui = '00000000000000D1';
    const request = await stationWithFirmware(eui, LARGE);
    const before = await outcomes();
    const socket = connect({ host: '127.0.0.1', port: srv.port });
    await once(socket, 'connect');
    socket.write(request);
    // Some of the answer, then the station goes away.
    await once(socket, 'data');
    socket.destroy();
    await until('the cut-off log line', () => lines.some((l) => l.eui === eui && /cut off/.test(String(l.msg))));
    const after = await outcomes();
    expect(after.cutOff - before.cutOff).toBe(1);
    expect(after.ok - before.ok).toBe(0);
    expect(after.observed - before.observed).toBe(1);
  });

  it('counts a download whose station hangs up at its last byte as ok, as its offer is', async () => {
    const before = await outcomes();
    const rounds = 10;
    for (let i = 0; i < rounds; i++) {
      const eui = `00000000000000E${i}`;
      const request = await stationWithFirmware(eui, SMALL);
      const socket = connect({ host: '127.0.0.1', port: srv.port });
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        // A station reads exactly Content-Length bytes and closes.
        if (responseComplete(Buffer.concat(chunks))) socket.destroy();
      });
      socket.write(request);
      await once(socket, 'close');
      await until('the delivery log line', () => lines.some((l) => l.eui === eui && /firmware delivered|cut off/.test(String(l.msg))));
    }
    const after = await outcomes();
    expect(after.ok - before.ok).toBe(rounds);
    expect(after.cutOff - before.cutOff).toBe(0);
    expect(after.observed - before.observed).toBe(rounds);
  });
});
