import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upgradeFirmware } from '../src/operations/firmware-upload.js';
import { generateSigningKey, loadPrivateKey } from '../src/signing/index.js';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { startTestServer, type TestServer } from './support/server.js';

const EUI = '0016C001FF10C001';
let srv: TestServer;

/** Resolves when the server has recorded a firmware delivery (it does so once the body has left, after the reply). */
let delivered: () => Promise<void>;

beforeAll(async () => {
  const waiting: (() => void)[] = [];
  delivered = () => new Promise((resolve) => waiting.push(resolve));
  srv = await startTestServer({
    wrapRegistry: (registry) =>
      new Proxy(registry, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (prop !== 'recordFirmwareDelivery' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
          return async (...args: unknown[]) => {
            const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
            waiting.splice(0).forEach((resolve) => resolve());
            return result;
          };
        },
      }),
  });
});
afterAll(async () => srv.stop());

describe('a firmware blob changed in the store after its upload', () => {
  it('is no longer offered: its SHA-256 is checked against the upload, not only its size', async () => {
    const key = generateSigningKey();
    const { registry, blobs } = srv.runtime;
    await registry.createStation({ eui: EUI });
    const home = join(srv.dir, 'station');
    await initStationHome(home, { cupsUri: srv.url, version: '1.0.0', sigKeys: [key.sigKey] });
    // An update that leaves version.txt alone, so the target stays offered.
    const update = Buffer.from('#!/bin/sh\nexit 0\n');
    const uploaded = await upgradeFirmware(
      { registry, blobs, clock: () => new Date() },
      { package: '1.0.1', source: { label: 'update.sh', size: update.length, open: () => Readable.from([update]) }, signWith: [loadPrivateKey(key.privateKeyPem)], stations: [EUI], maxOffers: 3 }, () => null,
    );
    const station = createSimulatedStation({ home, eui: EUI });
    const recorded = delivered();
    const first = await station.exchange();
    await recorded;
    expect(first.update?.outcome).toBe('verified');
    expect((await registry.getStation(EUI))?.firmware?.offers).toBe(1);

    // Same size, other bytes, written in place (as a disk fault or a hand edit would).
    const file = join(srv.config.blobs, 'fwupgrades', uploaded.blob);
    await writeFile(file, Buffer.from('#!/bin/sh\nrm -rf ~\n'.padEnd(update.length, ' ')).subarray(0, update.length));
    const later = new Date(Date.now() + 10_000);
    await utimes(file, later, later);

    const second = await station.exchange();
    expect(second).toMatchObject({ status: 200, ok: true });
    expect(second.update).toBeUndefined();
    const after = await registry.getStation(EUI);
    expect(after?.firmware?.offers).toBe(1);
    expect(after?.problem).toMatch(/SHA-256/);
  });
});
