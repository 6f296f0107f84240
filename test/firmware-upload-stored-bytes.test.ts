import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsBlobStore, type BlobStore } from '../src/blobs/index.js';
import { CupsError, isCupsError } from '../src/core/errors.js';
import { upgradeFirmware, type FirmwareDeps, type FirmwareSource } from '../src/operations/firmware-upload.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { generateSigningKey, loadPrivateKey, signBuffer, verifyStream } from '../src/signing/index.js';

const EUI = '0016C001FF10A235';
const key = generateSigningKey();
const good = Buffer.from('#!/bin/sh\necho 1.0.1 > "$STATION_HOME/version.txt"\n');
const evil = Buffer.from('#!/bin/sh\nrm -rf / # not what was signed\n');
let work: string;
let registry: StationRegistry;
let blobs: BlobStore;
let deps: FirmwareDeps;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-fw-race-'));
  registry = await createRegistry(join(work, 'registry.sqlite'));
  await registry.migrate();
  await registry.createStation({ eui: EUI });
  await registry.addSigningKey({ crc: key.crc, publicKey: key.sigKey.toString('hex'), name: 'prod' });
  blobs = await createFsBlobStore(join(work, 'blobs'));
  deps = { registry, blobs, clock: () => new Date() };
});
afterAll(async () => {
  await registry.close();
  await rm(work, { recursive: true, force: true });
});

/** A real file that the "attacker" overwrites with other bytes of the same size as soon as it has been read once. */
async function fileOverwrittenAfterFirstRead(first: Buffer, second: Buffer): Promise<FirmwareSource & { reads: number }> {
  const path = join(work, `update-${randomBytes(4).toString('hex')}.sh`);
  await writeFile(path, first);
  const source = {
    label: path,
    size: first.length,
    reads: 0,
    open() {
      source.reads++;
      const stream = createReadStream(path);
      // Synchronously, so the overwrite is complete before anything reads again.
      if (source.reads === 1) stream.once('end', () => writeFileSync(path, second));
      return stream;
    },
  };
  return source;
}

async function expectRefusedWithNothingStored(run: Promise<unknown>, codes: string[]): Promise<void> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCupsError(error) ? error.code : error).toSatisfy((code: unknown) => codes.includes(code as string));
  expect(await blobs.list('fwupgrades')).toEqual([]);
  expect((await registry.getStation(EUI))?.firmware).toBeNull();
}

describe('firmware upgrade checks the bytes it stores', () => {
  it('refuses a file overwritten between reads when its signature was made for the first content', async () => {
    const sig = signBuffer(good, key.privateKeyPem);
    const source = await fileOverwrittenAfterFirstRead(good, Buffer.from(good.toString().replace('echo', 'rm -')));
    await expectRefusedWithNothingStored(
      upgradeFirmware(deps, { package: '1.0.1', source, signatures: [{ keyCrc: key.crc, signature: sig, label: 'update.sh.sig' }], stations: [EUI], maxOffers: 3 }, () => null),
      ['file_changed', 'signature_mismatch'],
    );
    expect(source.reads).toBe(2);
  });

  it('refuses a file overwritten between reads when signing it now (--sign-with), instead of signing what was not hashed', async () => {
    const source = await fileOverwrittenAfterFirstRead(good, Buffer.from(good.toString().replace('1.0.1', '6.6.6')));
    await expectRefusedWithNothingStored(
      upgradeFirmware(deps, { package: '1.0.1', source, signWith: [loadPrivateKey(key.privateKeyPem)], stations: [EUI], maxOffers: 3 }, () => null),
      ['file_changed'],
    );
  });

  it('refuses the signature of other bytes even when the file holds still', async () => {
    const source = await fileOverwrittenAfterFirstRead(good, good);
    await expectRefusedWithNothingStored(
      upgradeFirmware(deps, { package: '1.0.1', source, signatures: [{ keyCrc: key.crc, signature: signBuffer(evil, key.privateKeyPem), label: 'evil.sig' }], stations: [EUI], maxOffers: 3 }, () => null),
      ['signature_mismatch'],
    );
  });

  it('stores bytes whose hash is the recorded one and that the signature verifies, and re-checks a stored copy before reusing it', async () => {
    const sig = signBuffer(good, key.privateKeyPem);
    const source = await fileOverwrittenAfterFirstRead(good, good);
    const first = await upgradeFirmware(deps, { package: '1.0.1', source, signatures: [{ keyCrc: key.crc, signature: sig, label: 'update.sh.sig' }], stations: [EUI], maxOffers: 3 }, () => null);
    expect(first).toMatchObject({ uploaded: true, sha256: createHash('sha256').update(good).digest('hex'), stations: [EUI] });
    const stored = await blobs.get('fwupgrades', first.blob);
    expect(await verifyStream(stored!.stream, sig, key.sigKey)).toBe(true);
    expect((await registry.getStation(EUI))?.firmware).toMatchObject({ sha256: first.sha256, package: '1.0.1' });

    // Same bytes again: reused, after reading the stored copy back.
    const again = await upgradeFirmware(deps, { package: '1.0.1', source: await fileOverwrittenAfterFirstRead(good, good), signatures: [{ keyCrc: key.crc, signature: sig, label: 'update.sh.sig' }], stations: [EUI], maxOffers: 3 }, () => null);
    expect(again.uploaded).toBe(false);
    // A stored copy damaged in place (same name, same size) is stored again rather than served.
    await writeFile(join(work, 'blobs', 'fwupgrades', first.blob), Buffer.alloc(good.length, 0x41));
    const repaired = await upgradeFirmware(deps, { package: '1.0.1', source: await fileOverwrittenAfterFirstRead(good, good), signatures: [{ keyCrc: key.crc, signature: sig, label: 'update.sh.sig' }], stations: [EUI], maxOffers: 3 }, () => null);
    expect(repaired.uploaded).toBe(true);
    expect(await verifyStream((await blobs.get('fwupgrades', first.blob))!.stream, sig, key.sigKey)).toBe(true);
  });
});

describe('firmware upgrade targets its stations in one transaction', () => {
  it('a crash after the first of two stations was targeted leaves neither targeted', async () => {
    const second = '0016C001FF10A236';
    await registry.createStation({ eui: second });
    const other = Buffer.from('#!/bin/sh\necho 1.0.2 > "$STATION_HOME/version.txt"\n');
    const input = {
      package: '1.0.2',
      source: await fileOverwrittenAfterFirstRead(other, other),
      signatures: [{ keyCrc: key.crc, signature: signBuffer(other, key.privateKeyPem), label: 'update.sh.sig' }],
      stations: [EUI, second],
      maxOffers: 3,
    };
    const before = [(await registry.getStation(EUI))?.firmware ?? null, null];
    const crash = (step: string) => {
      if (step === `registry:firmware-target-set:${EUI}`) throw new CupsError('injected_crash', 'unavailable', step);
    };
    await expect(upgradeFirmware({ ...deps, faults: crash }, input, () => null)).rejects.toMatchObject({ code: 'injected_crash' });
    expect([(await registry.getStation(EUI))?.firmware ?? null, (await registry.getStation(second))?.firmware ?? null]).toEqual(before);
    const done = await upgradeFirmware(deps, { ...input, source: await fileOverwrittenAfterFirstRead(other, other) }, () => null);
    expect(done.stations).toEqual([EUI, second]);
    expect((await registry.getStation(second))?.firmware).toMatchObject({ package: '1.0.2', state: 'pending' });
  });
});
