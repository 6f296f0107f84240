import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { createRegistry } from '../src/registry/index.js';
import type { NewFirmwareTarget, ReportedState, StationRegistry } from '../src/registry/types.js';
import { registryDrivers, type Driver, type Store } from './support/registry-drivers.js';

const drivers = await registryDrivers('registry conformance');

const EUI_A = '0016C001FF10A235';
const EUI_B = '0016C001FF10A236';
const EUI_C = '58A0CBFFFE800001';
const T0 = Date.parse('2025-03-01T10:00:00.123Z');

function report(overrides: Partial<ReportedState> = {}): ReportedState {
  return {
    cupsUri: 'https://cups.example:443',
    tcUri: 'wss://lns.example:8887',
    cupsCredCrc: 0xffffffff,
    tcCredCrc: 2077607535,
    station: '2.0.6(rpi/std)',
    model: 'rpi',
    package: '1.0.0',
    keys: [3735928559, 1],
    ...overrides,
  };
}

function target(pkg: string, overrides: Partial<NewFirmwareTarget> = {}): NewFirmwareTarget {
  return {
    package: pkg,
    blob: `fw/${pkg}.bin`,
    size: 123_456,
    sha256: 'ab'.repeat(32),
    signatures: [{ keyCrc: 0xfffffffe, signature: 'MEUCIQ==' }],
    maxOffers: 3,
    fromPackage: '1.0.0',
    requestedAt: new Date(T0),
    ...overrides,
  };
}

async function expectCupsError(promise: Promise<unknown>, kind: string, code: string): Promise<CupsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CupsError);
  expect(error).toMatchObject({ kind, code });
  return error as CupsError;
}

function conformance(driver: Driver): void {
  let store: Store;
  let registry: StationRegistry;
  let clock: number;
  const open = () => createRegistry(store.url, { ...driver.options, now: () => new Date(clock) });

  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());
  beforeEach(async () => {
    clock = T0;
    store = await driver.fresh();
    registry = await open();
    await registry.migrate();
  });
  afterEach(async () => {
    await registry.close();
    await store.dispose();
  });

  it('migrates twice without harm and answers ping', async () => {
    await registry.migrate();
    await registry.ping();
    await registry.createStation({ eui: EUI_A });
    await registry.migrate();
    expect((await registry.getStation(EUI_A))?.eui).toBe(EUI_A);
  });

  it('creates and reads a station with every desired field', async () => {
    const created = await registry.createStation({
      eui: EUI_A,
      name: 'roof',
      labels: { site: 'north', tier: 'gold' },
      desired: {
        cupsUri: 'https://cups.example',
        cupsCred: { blob: 'cups-A.bin', crc: 0xffffffff, size: 1_234 },
        tcCred: { blob: 'tc-A.bin', crc: 7, size: 99 },
      },
    });
    expect(created).toEqual({
      eui: EUI_A,
      name: 'roof',
      labels: { site: 'north', tier: 'gold' },
      desired: {
        cupsUri: 'https://cups.example',
        tcUri: null,
        cupsCred: { blob: 'cups-A.bin', crc: 0xffffffff, size: 1_234 },
        tcCred: { blob: 'tc-A.bin', crc: 7, size: 99 },
      },
      reported: null,
      lastSeenAt: null,
      lastRemoteAddress: null,
      problem: null,
      firmware: null,
      health: null,
      createdAt: new Date(T0),
      updatedAt: new Date(T0),
    });
    expect(await registry.getStation(EUI_A)).toEqual(created);
    expect(await registry.getStation(EUI_B)).toBeUndefined();
  });

  it('rejects a malformed EUI and a duplicate EUI', async () => {
    await expectCupsError(registry.createStation({ eui: '0016c001ff10a235' }), 'invalid_argument', 'invalid_eui');
    await registry.createStation({ eui: EUI_A, name: 'first' });
    const e = await expectCupsError(registry.createStation({ eui: EUI_A, name: 'second' }), 'conflict', 'station_exists');
    expect(e.message).toContain(EUI_A);
    expect((await registry.getStation(EUI_A))?.name).toBe('first');
  });

  it('lists stations ordered by EUI and filters by every given label', async () => {
    await registry.createStation({ eui: EUI_C, labels: { site: 'north', tier: 'gold' } });
    await registry.createStation({ eui: EUI_A, labels: { site: 'north' } });
    await registry.createStation({ eui: EUI_B, labels: { site: 'south', tier: 'gold' } });
    expect((await registry.listStations()).map((s) => s.eui)).toEqual([EUI_A, EUI_B, EUI_C]);
    expect((await registry.listStations({ labels: { site: 'north' } })).map((s) => s.eui)).toEqual([EUI_A, EUI_C]);
    expect((await registry.listStations({ labels: { site: 'north', tier: 'gold' } })).map((s) => s.eui)).toEqual([EUI_C]);
    expect(await registry.listStations({ labels: { site: 'east' } })).toEqual([]);
    await registry.setFirmwareTarget(EUI_B, target('2.0.0'));
    const listed = await registry.listStations();
    expect(listed.map((s) => s.firmware?.package ?? null)).toEqual([null, '2.0.0', null]);
  });

  it('patches name, desired fields, problem and merges or removes labels', async () => {
    await registry.createStation({
      eui: EUI_A,
      name: 'old',
      labels: { site: 'north', tier: 'gold' },
      desired: { cupsUri: 'https://a', tcUri: 'wss://b', tcCred: { blob: 't', crc: 1, size: 2 } },
    });
    clock = T0 + 60_000;
    const updated = await registry.updateStation(EUI_A, {
      name: 'new',
      labels: { tier: null, room: '12' },
      desired: { tcUri: 'wss://c', tcCred: null },
      problem: 'no signing key for package 2.0.0',
    });
    expect(updated.name).toBe('new');
    expect(updated.labels).toEqual({ site: 'north', room: '12' });
    expect(updated.desired).toEqual({ cupsUri: 'https://a', tcUri: 'wss://c', cupsCred: null, tcCred: null });
    expect(updated.problem).toBe('no signing key for package 2.0.0');
    expect(updated.createdAt).toEqual(new Date(T0));
    expect(updated.updatedAt).toEqual(new Date(T0 + 60_000));
    const cleared = await registry.updateStation(EUI_A, { problem: null, name: null });
    expect(cleared).toMatchObject({ problem: null, name: null, labels: { site: 'north', room: '12' } });
    expect(await registry.getStation(EUI_A)).toEqual(cleared);
    await expectCupsError(registry.updateStation(EUI_B, { name: 'x' }), 'not_found', 'station_not_found');
  });

  it('removes a station with its events and firmware target', async () => {
    await registry.createStation({ eui: EUI_A });
    await registry.appendEvents(EUI_A, [{ type: 'config', message: 'created' }], new Date(T0));
    await registry.setFirmwareTarget(EUI_A, target('2.0.0'));
    expect(await registry.removeStation(EUI_A)).toBe(true);
    expect(await registry.getStation(EUI_A)).toBeUndefined();
    expect(await registry.removeStation(EUI_A)).toBe(false);
    // Same EUI again: nothing of the old station may survive the cascade.
    const again = await registry.createStation({ eui: EUI_A });
    expect(again.firmware).toBeNull();
    expect(await registry.listEvents(EUI_A)).toEqual([]);
  });

  it('writes reported state only when it changed, and always stamps last seen', async () => {
    await registry.createStation({ eui: EUI_A });
    clock = T0 + 5;
    const first = await registry.recordExchange(EUI_A, {
      at: new Date(T0 + 1_000),
      remoteAddress: '192.0.2.1',
      reported: report(),
      events: [],
    });
    expect(first.reportedChanged).toBe(true);
    let station = await registry.getStation(EUI_A);
    expect(station?.reported).toEqual(report());
    expect(station?.lastSeenAt).toEqual(new Date(T0 + 1_000));
    expect(station?.lastRemoteAddress).toBe('192.0.2.1');

    const same = await registry.recordExchange(EUI_A, {
      at: new Date(T0 + 2_000),
      remoteAddress: '192.0.2.2',
      reported: report(),
      events: [],
    });
    expect(same.reportedChanged).toBe(false);
    station = await registry.getStation(EUI_A);
    expect(station?.lastSeenAt).toEqual(new Date(T0 + 2_000));
    expect(station?.lastRemoteAddress).toBe('192.0.2.2');

    for (const change of [{ package: '2.0.0' }, { keys: [1, 3735928559] }, { tcUri: null }, { cupsCredCrc: 0 }]) {
      const changed = await registry.recordExchange(EUI_A, {
        at: new Date(T0 + 3_000),
        remoteAddress: null,
        reported: report(change),
        events: [],
      });
      expect(changed.reportedChanged, JSON.stringify(change)).toBe(true);
      expect((await registry.getStation(EUI_A))?.reported).toEqual(report(change));
    }
    expect((await registry.getStation(EUI_A))?.lastRemoteAddress).toBeNull();
    // Exchanges are not operator changes.
    expect((await registry.getStation(EUI_A))?.updatedAt).toEqual(new Date(T0));
  });

  it('touchStation stamps last seen alone and tells whether the station exists', async () => {
    await registry.createStation({ eui: EUI_A });
    await registry.recordExchange(EUI_A, { at: new Date(T0 + 1_000), remoteAddress: '192.0.2.1', reported: report(), events: [] });
    expect(await registry.touchStation(EUI_A, { at: new Date(T0 + 9_000), remoteAddress: '192.0.2.9' })).toBe(true);
    const station = await registry.getStation(EUI_A);
    expect(station?.lastSeenAt).toEqual(new Date(T0 + 9_000));
    expect(station?.lastRemoteAddress).toBe('192.0.2.9');
    expect(station?.reported).toEqual(report());
    expect(await registry.listEvents(EUI_A)).toEqual([]);
    expect(await registry.touchStation(EUI_B, { at: new Date(T0), remoteAddress: null })).toBe(false);
  });

  it('applies the problem only when the exchange gives one', async () => {
    await registry.createStation({ eui: EUI_A });
    const base = { at: new Date(T0), remoteAddress: null, reported: report(), events: [] };
    await registry.recordExchange(EUI_A, { ...base, problem: 'signing key 7 unknown' });
    expect((await registry.getStation(EUI_A))?.problem).toBe('signing key 7 unknown');
    await registry.recordExchange(EUI_A, base);
    expect((await registry.getStation(EUI_A))?.problem).toBe('signing key 7 unknown');
    await registry.recordExchange(EUI_A, { ...base, problem: null });
    expect((await registry.getStation(EUI_A))?.problem).toBeNull();
  });

  it('refuses exchanges and events for unknown stations', async () => {
    const exchange = { at: new Date(T0), remoteAddress: null, reported: report(), events: [{ type: 'exchange' as const, message: 'x' }] };
    await expectCupsError(registry.recordExchange(EUI_A, exchange), 'not_found', 'station_not_found');
    await expectCupsError(
      registry.appendEvents(EUI_A, [{ type: 'auth', message: 'bad token' }], new Date(T0)),
      'not_found',
      'station_not_found',
    );
    await registry.createStation({ eui: EUI_A });
    expect(await registry.listEvents(EUI_A)).toEqual([]);
  });

  it('keeps events most recent first, with limit', async () => {
    await registry.createStation({ eui: EUI_A });
    await registry.createStation({ eui: EUI_B });
    await registry.appendEvents(EUI_A, [{ type: 'config', message: 'one', detail: { by: 'cli' } }, { type: 'config', message: 'two' }], new Date(T0));
    await registry.recordExchange(EUI_A, {
      at: new Date(T0 + 1_000),
      remoteAddress: null,
      reported: report(),
      events: [
        { type: 'exchange', message: 'three', detail: { sent: ['cupsUri'], nested: { n: 1 } } },
        { type: 'reported_changed', message: 'four' },
      ],
    });
    await registry.appendEvents(EUI_B, [{ type: 'auth', message: 'other station' }], new Date(T0));
    await registry.appendEvents(EUI_A, [], new Date(T0));

    const events = await registry.listEvents(EUI_A);
    expect(events.map((e) => e.message)).toEqual(['four', 'three', 'two', 'one']);
    expect(events[1]).toMatchObject({
      eui: EUI_A,
      type: 'exchange',
      at: new Date(T0 + 1_000),
      detail: { sent: ['cupsUri'], nested: { n: 1 } },
    });
    expect(events[3]?.detail).toEqual({ by: 'cli' });
    expect(events[2]?.detail).toBeUndefined();
    expect(new Set(events.map((e) => e.id)).size).toBe(4);
    expect((await registry.listEvents(EUI_A, { limit: 2 })).map((e) => e.message)).toEqual(['four', 'three']);
    expect(await registry.listEvents(EUI_C)).toEqual([]);
    await expectCupsError(registry.listEvents(EUI_A, { limit: 0 }), 'invalid_argument', 'invalid_limit');
  });

  it('counts unknown stations and forgets them once registered', async () => {
    await registry.recordUnknown(EUI_B, { at: new Date(T0), remoteAddress: '198.51.100.1', request: { router: EUI_B, n: 1 } });
    await registry.recordUnknown(EUI_A, { at: new Date(T0 + 1_000), remoteAddress: null, request: { router: EUI_A } });
    await registry.recordUnknown(EUI_B, { at: new Date(T0 + 2_000), remoteAddress: '198.51.100.2', request: { router: EUI_B, n: 2 } });
    expect(await registry.listUnknown()).toEqual([
      {
        eui: EUI_B,
        firstSeenAt: new Date(T0),
        lastSeenAt: new Date(T0 + 2_000),
        count: 2,
        lastRemoteAddress: '198.51.100.2',
        lastRequest: { router: EUI_B, n: 2 },
      },
      { eui: EUI_A, firstSeenAt: new Date(T0 + 1_000), lastSeenAt: new Date(T0 + 1_000), count: 1, lastRemoteAddress: null, lastRequest: { router: EUI_A } },
    ]);
    await registry.createStation({ eui: EUI_B });
    expect((await registry.listUnknown()).map((u) => u.eui)).toEqual([EUI_A]);
  });

  it('sets, replaces and clears the firmware target', async () => {
    await registry.createStation({ eui: EUI_A });
    await registry.setFirmwareTarget(EUI_A, target('2.0.0'));
    expect((await registry.getStation(EUI_A))?.firmware).toEqual({
      package: '2.0.0',
      blob: 'fw/2.0.0.bin',
      size: 123_456,
      sha256: 'ab'.repeat(32),
      signatures: [{ keyCrc: 0xfffffffe, signature: 'MEUCIQ==' }],
      state: 'pending',
      offers: 0,
      maxOffers: 3,
      fromPackage: '1.0.0',
      requestedAt: new Date(T0),
      lastOfferedAt: null,
      upgradedAt: null,
      lastError: null,
    });
    await registry.updateFirmware(EUI_A, { package: '2.0.0', offered: true, state: 'failed', lastError: 'gave up' });
    await registry.setFirmwareTarget(EUI_A, target('2.1.0', { maxOffers: 5, requestedAt: new Date(T0 + 9) }));
    expect((await registry.getStation(EUI_A))?.firmware).toMatchObject({
      package: '2.1.0',
      state: 'pending',
      offers: 0,
      maxOffers: 5,
      requestedAt: new Date(T0 + 9),
      lastOfferedAt: null,
      lastError: null,
    });
    await registry.setFirmwareTarget(EUI_A, null);
    expect((await registry.getStation(EUI_A))?.firmware).toBeNull();
    await registry.setFirmwareTarget(EUI_A, null);
    await expectCupsError(registry.setFirmwareTarget(EUI_B, target('2.0.0')), 'not_found', 'station_not_found');
    await expectCupsError(registry.setFirmwareTarget(EUI_B, null), 'not_found', 'station_not_found');
    await expectCupsError(registry.setFirmwareTarget(EUI_A, target('2.0.0', { maxOffers: 0 })), 'invalid_argument', 'invalid_firmware_target');
  });

  it('applies firmware transitions only while the target names the package', async () => {
    await registry.createStation({ eui: EUI_A });
    const base = { remoteAddress: null, reported: report(), events: [] };
    const none = await registry.recordExchange(EUI_A, { ...base, at: new Date(T0), firmware: { package: '2.0.0', offered: true } });
    expect(none.firmware).toBeNull();

    await registry.setFirmwareTarget(EUI_A, target('2.0.0'));
    const offered = await registry.recordExchange(EUI_A, {
      ...base,
      at: new Date(T0 + 1_000),
      firmware: { package: '2.0.0', offered: true, state: 'offered' },
    });
    expect(offered.firmware).toMatchObject({ state: 'offered', offers: 1, lastOfferedAt: new Date(T0 + 1_000) });

    const stale = await registry.recordExchange(EUI_A, { ...base, at: new Date(T0 + 2_000), firmware: { package: '1.9.0', offered: true, state: 'failed' } });
    expect(stale.firmware).toBeNull();
    const plain = await registry.recordExchange(EUI_A, { ...base, at: new Date(T0 + 3_000) });
    expect(plain.firmware).toMatchObject({ package: '2.0.0', state: 'offered', offers: 1 });

    expect(await registry.updateFirmware(EUI_A, { package: '1.9.0', resetOffers: true })).toBeNull();
    expect(await registry.updateFirmware(EUI_A, { package: '2.0.0', state: 'failed', lastError: 'no change after 3 offers' })).toMatchObject({
      state: 'failed',
      offers: 1,
      lastError: 'no change after 3 offers',
    });
    expect(await registry.updateFirmware(EUI_A, { package: '2.0.0', state: 'pending', lastError: null, resetOffers: true })).toMatchObject({
      state: 'pending',
      offers: 0,
      lastError: null,
      lastOfferedAt: new Date(T0 + 1_000),
    });
    const upgraded = await registry.recordExchange(EUI_A, {
      ...base,
      at: new Date(T0 + 4_000),
      reported: report({ package: '2.0.0' }),
      firmware: { package: '2.0.0', state: 'upgraded', upgradedAt: new Date(T0 + 4_000) },
    });
    expect(upgraded).toMatchObject({ reportedChanged: true, firmware: { state: 'upgraded', upgradedAt: new Date(T0 + 4_000), offers: 0 } });
    expect((await registry.getStation(EUI_A))?.firmware).toEqual(upgraded.firmware);
    expect(await registry.updateFirmware(EUI_B, { package: '2.0.0', offered: true })).toBeNull();
  });

  it('registers signing keys once, with full unsigned CRCs', async () => {
    clock = T0 + 1;
    const key = await registry.addSigningKey({ crc: 0xffffffff, publicKey: 'a1'.repeat(64), name: 'prod' });
    expect(key).toEqual({ crc: 0xffffffff, publicKey: 'a1'.repeat(64), name: 'prod', createdAt: new Date(T0 + 1) });
    clock = T0 + 2;
    await registry.addSigningKey({ crc: 0, publicKey: 'b2'.repeat(64), name: null });
    expect(await registry.getSigningKey(0xffffffff)).toEqual(key);
    expect(await registry.getSigningKey(12345)).toBeUndefined();
    expect((await registry.listSigningKeys()).map((k) => k.crc)).toEqual([0xffffffff, 0]);
    await expectCupsError(registry.addSigningKey({ crc: 0xffffffff, publicKey: 'c3'.repeat(64), name: 'again' }), 'conflict', 'signing_key_exists');
    await expectCupsError(registry.addSigningKey({ crc: 2 ** 32, publicKey: 'c3'.repeat(64), name: null }), 'invalid_argument', 'invalid_signing_key');
    await expectCupsError(registry.addSigningKey({ crc: 5, publicKey: 'abc', name: null }), 'invalid_argument', 'invalid_signing_key');
    expect((await registry.getSigningKey(0xffffffff))?.name).toBe('prod');
  });

  it('removes a signing key only while no firmware target still to be installed is signed by it', async () => {
    const KEY = 0xfffffffe;
    await registry.addSigningKey({ crc: KEY, publicKey: 'a1'.repeat(64), name: 'old' });
    // Its CRC's digits start KEY's: a target signed by KEY must not count as using it.
    const PREFIX = 429496729;
    await registry.addSigningKey({ crc: PREFIX, publicKey: 'b2'.repeat(64), name: 'unused' });
    await registry.createStation({ eui: EUI_A });
    await registry.createStation({ eui: EUI_B });
    await registry.createStation({ eui: EUI_C });
    await registry.setFirmwareTarget(EUI_A, target('2.0.0'));
    await registry.setFirmwareTarget(EUI_B, target('2.0.0', { signatures: [{ keyCrc: 1, signature: 'MEUCIQ==' }, { keyCrc: KEY, signature: 'MEUCIQ==' }] }));
    await registry.setFirmwareTarget(EUI_C, target('2.0.0', { signatures: [{ keyCrc: 1, signature: 'MEUCIQ==' }] }));

    const refused = await expectCupsError(registry.removeSigningKey(KEY), 'conflict', 'signing_key_in_use');
    expect(refused.details).toMatchObject({ crc: KEY, stations: [EUI_A, EUI_B] });
    expect(refused.message).toContain(EUI_A);
    expect(await registry.getSigningKey(KEY)).toBeDefined();

    expect(await registry.removeSigningKey(PREFIX)).toBe(true);
    expect(await registry.removeSigningKey(PREFIX)).toBe(false);
    await registry.setFirmwareTarget(EUI_B, null);

    await registry.updateFirmware(EUI_A, { package: '2.0.0', state: 'upgraded' });
    expect(await registry.removeSigningKey(KEY)).toBe(true);
    expect(await registry.listSigningKeys()).toEqual([]);
    await expectCupsError(registry.removeSigningKey(-1), 'invalid_argument', 'invalid_signing_key');
  });

  it('counts every one of 50 concurrent offers and reports the change once', async () => {
    await registry.createStation({ eui: EUI_A });
    await registry.setFirmwareTarget(EUI_A, target('2.0.0'));
    const exchange = (i: number) =>
      registry.recordExchange(EUI_A, {
        at: new Date(T0 + i),
        remoteAddress: null,
        reported: report(),
        events: [{ type: 'firmware_offered', message: `offer ${i}` }],
        firmware: { package: '2.0.0', offered: true },
      });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => exchange(i)));
    expect(results.filter((r) => r.reportedChanged)).toHaveLength(1);
    expect((await registry.getStation(EUI_A))?.firmware?.offers).toBe(50);
    expect(results.map((r) => r.firmware?.offers).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(await registry.listEvents(EUI_A)).toHaveLength(50);
  });

  it.skipIf(!driver.shared)('sees the same data from a second registry on the same store', async () => {
    const other = await open();
    try {
      await registry.createStation({ eui: EUI_A, labels: { via: 'first' } });
      expect((await other.getStation(EUI_A))?.labels).toEqual({ via: 'first' });
      await other.migrate();
    } finally {
      await other.close();
    }
  });
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`station registry on ${driver.name}`, () => conformance(driver));
}
