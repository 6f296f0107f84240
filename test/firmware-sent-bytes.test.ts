import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdir, open, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponse, encodeStationRequestBody } from '../src/protocol/index.js';
import { firmwareTarget } from './support/firmware-target.js';
import { LogLines } from './support/log-lines.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

const KEY_CRC = 3157685580;
/** Larger than the sender's read buffer (64 KB): checked while streaming, not before. */
const BIG = randomBytes(600 * 1024);
/** At most one read buffer: checked whole before the answer starts. */
const SMALL = randomBytes(4 * 1024);

let srv: TestServer;
const logs = new LogLines();

/** Resolves once the server has recorded the end of a download of `eui` (after the response, so the test must wait for it). */
const recordings: { eui: string; resolve: () => void }[] = [];
function recorded(eui: string): Promise<void> {
  return new Promise((resolve) => recordings.push({ eui, resolve }));
}

beforeAll(async () => {
  srv = await startTestServer({
    logger: pino({ level: 'info' }, logs),
    wrapRegistry: (registry) =>
      new Proxy(registry, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          if (prop !== 'recordFirmwareDelivery') return value.bind(target);
          return async (eui: string, ...rest: unknown[]) => {
            const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, [eui, ...rest])) as unknown;
            for (const r of recordings.filter((x) => x.eui === eui)) {
              recordings.splice(recordings.indexOf(r), 1);
              r.resolve();
            }
            return result;
          };
        },
      }),
  });
});
afterAll(async () => srv.stop());

interface Download {
  readonly status: number;
  readonly contentLength: number;
  readonly body: Buffer;
  /** The client saw the whole body its Content-Length announced. */
  readonly complete: boolean;
}

/** One update-info request with a real HTTP client (node:http); read until the response ends or the connection is cut. */
function download(eui: string): Promise<Download> {
  return new Promise((resolve, reject) => {
    const body = encodeStationRequestBody(stationRequest(eui, { keys: [KEY_CRC], package: '1.0.0' }));
    const req = request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/update-info', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      const done = (complete: boolean) => {
        const got = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, contentLength: Number(res.headers['content-length']), body: got, complete });
      };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(res.complete));
      // A body cut short: 'aborted' then an error on the response, never 'end'.
      res.on('error', () => done(false));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function targetStation(eui: string, blob: string, update: Buffer): Promise<void> {
  await srv.runtime.registry.createStation({ eui });
  await srv.runtime.registry.setFirmwareTarget(eui, firmwareTarget(blob, update, KEY_CRC));
}

function blobFile(name: string): string {
  return join(srv.config.blobs, 'fwupgrades', name);
}

/** Other bytes written over the file in place, its size and times put back: what size and mtime cannot see. */
async function changeInPlace(file: string, at: number): Promise<void> {
  const before = await stat(file);
  const fh = await open(file, 'r+');
  try {
    await fh.write(Buffer.from('tampered'), 0, 8, at);
  } finally {
    await fh.close();
  }
  await utimes(file, before.atimeMs / 1000, before.mtimeMs / 1000);
  const after = await stat(file);
  expect(after.size).toBe(before.size);
  expect(after.mtime.getTime()).toBe(before.mtime.getTime());
}

describe('firmware bytes changed in the blob store after a good download (size and mtime put back)', () => {
  it('a large update: the connection is cut before the last chunk, the target fails, and it is not offered again until stored again', async () => {
    const eui = '00000000000000D1';
    const other = '00000000000000D2';
    await srv.runtime.blobs.put('fwupgrades', 'fw-big', BIG, { size: BIG.length });
    await targetStation(eui, 'fw-big', BIG);
    await targetStation(other, 'fw-big', BIG);

    const delivered = recorded(eui);
    const first = await download(eui);
    expect(first.complete).toBe(true);
    expect(decodeResponse(first.body).update?.equals(BIG)).toBe(true);
    await delivered;

    await changeInPlace(blobFile('fw-big'), 300 * 1024);
    const cut = logs.next((l) => l.eui === eui && /not the one uploaded/.test(String(l.msg)));
    const cutRecorded = recorded(eui);
    const second = await download(eui);
    expect(second.status).toBe(200);
    expect(second.complete).toBe(false);
    // At least the last chunk (the tail of the update) never left the server.
    expect(second.body.length).toBeLessThanOrEqual(second.contentLength - (BIG.length % (64 * 1024) || 64 * 1024));
    expect(await cut).toMatchObject({ level: 50 });
    await cutRecorded;

    const station = await srv.runtime.registry.getStation(eui);
    expect(station?.firmware).toMatchObject({ state: 'failed', offers: 1 });
    expect(station?.firmware?.lastError).toMatch(/SHA-256 .* not the .* of the upload/);
    const events = await srv.runtime.registry.listEvents(eui);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['firmware_interrupted', 'firmware_failed']));
    // What "firmware show 2.0.0" lists under the package.
    expect((await srv.runtime.rollouts.packageUse('2.0.0')).failed).toContainEqual({ eui, lastError: station?.firmware?.lastError });

    // Not offered again: neither to this station nor to another targeted at the same bytes.
    const third = await download(eui);
    expect(third).toMatchObject({ status: 200, complete: true });
    expect(decodeResponse(third.body).update).toBeNull();
    const toOther = await download(other);
    expect(toOther).toMatchObject({ status: 200, complete: true });
    expect(decodeResponse(toOther.body).update).toBeNull();
    const otherStation = await srv.runtime.registry.getStation(other);
    expect(otherStation?.firmware).toMatchObject({ state: 'failed', offers: 0 });
    expect(otherStation?.problem).toMatch(/SHA-256/);

    // Stored again and retried: offered and delivered whole.
    await srv.runtime.blobs.put('fwupgrades', 'fw-big', BIG, { size: BIG.length });
    await srv.runtime.registry.updateFirmware(eui, { package: '2.0.0', state: 'pending', resetOffers: true, lastError: null });
    const again = await download(eui);
    expect(again.complete).toBe(true);
    expect(decodeResponse(again.body).update?.equals(BIG)).toBe(true);
  });

  it('a small update is checked before its answer starts: 200 without it, and the target fails', async () => {
    const eui = '00000000000000D3';
    await srv.runtime.blobs.put('fwupgrades', 'fw-small', SMALL, { size: SMALL.length });
    await targetStation(eui, 'fw-small', SMALL);
    const delivered = recorded(eui);
    const first = await download(eui);
    expect(decodeResponse(first.body).update?.equals(SMALL)).toBe(true);
    await delivered;

    await changeInPlace(blobFile('fw-small'), 100);
    const second = await download(eui);
    expect(second).toMatchObject({ status: 200, complete: true });
    expect(decodeResponse(second.body).update).toBeNull();
    const station = await srv.runtime.registry.getStation(eui);
    expect(station?.firmware).toMatchObject({ state: 'failed', offers: 1 });
    expect(station?.problem).toMatch(/SHA-256/);
  });
});

describe('a firmware blob that cannot be opened as a file', () => {
  const cases: [string, (file: string) => Promise<void>][] = [
    ['a symlink to the very same bytes', async (file) => {
      const elsewhere = join(srv.dir, 'elsewhere.bin');
      await writeFile(elsewhere, SMALL);
      await symlink(elsewhere, file);
    }],
    ['a dangling symlink', (file) => symlink(join(srv.dir, 'nowhere.bin'), file)],
    ['a folder', (file) => mkdir(file)],
    ['a FIFO (opening it for reading would wait for a writer)', async (file) => {
      execFileSync('mkfifo', [file]);
    }],
  ];
  cases.forEach(([what, make], i) => {
    it(`answers 200 without the firmware and records the problem: ${what}`, async () => {
      const eui = `00000000000000E${i}`;
      const blob = `fw-odd-${i}`;
      await targetStation(eui, blob, SMALL);
      await rm(blobFile(blob), { force: true, recursive: true });
      await make(blobFile(blob));
      const answer = await download(eui);
      expect(answer).toMatchObject({ status: 200, complete: true });
      expect(decodeResponse(answer.body).update).toBeNull();
      const station = await srv.runtime.registry.getStation(eui);
      expect(station?.problem).toMatch(new RegExp(`firmware 2\\.0\\.0: blob ${blob} cannot be read from the blob store`));
      // Not a verdict on the bytes: the target stays as it was, offered once the file is fixed.
      expect(station?.firmware).toMatchObject({ state: 'pending', offers: 0 });
    });
  });
});
