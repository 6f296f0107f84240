import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistryStores, type FleetStore, type StationRegistry } from '../src/registry/index.js';
import { registryDrivers, type Driver, type Store } from './support/registry-drivers.js';

// The certificate lifetime reads (summary, --cert-expiring, renewal candidates) on every registry driver.

const drivers = await registryDrivers('certificate expiry');
const DAY = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00Z');
const at = (days: number) => new Date(NOW.getTime() + days * DAY);

function suite(driver: Driver): void {
  let store: Store;
  let registry: StationRegistry;
  let fleet: FleetStore;

  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());
  beforeEach(async () => {
    store = await driver.fresh();
    ({ registry, fleet } = await createRegistryStores(store.url));
    await registry.migrate();
    // [eui, mode, [cups certificates as (days left, status)], tc certificate days, rotation pending]
    const fixtures: [string, 'mtls' | 'token' | 'none', [number, 'active' | 'retired'][], number | null, boolean][] = [
      ['00000000000000A1', 'mtls', [[3, 'active']], null, false],
      ['00000000000000A2', 'mtls', [[3, 'retired'], [20, 'active']], null, false],
      ['00000000000000A3', 'mtls', [[-2, 'active']], null, false],
      ['00000000000000A4', 'mtls', [[60, 'active'], [3000, 'active']], null, false],
      ['00000000000000A5', 'mtls', [[10, 'active']], null, true],
      ['00000000000000A6', 'token', [[5, 'active']], null, false],
      ['00000000000000A7', 'none', [], 1, false],
      ['00000000000000A8', 'mtls', [[400, 'active']], null, false],
    ];
    for (const [eui, mode, certs, tc, pending] of fixtures) {
      await registry.createStation({ eui });
      await registry.setAuthMode(eui, mode, NOW);
      for (const [i, [days, status]] of certs.entries()) {
        const fingerprint = `${eui.toLowerCase()}${i}`.padEnd(64, '0');
        await registry.addCertificate(eui, { fingerprint, category: 'cups', credCrc: i + 1, notAfter: at(days) }, NOW);
        if (status === 'retired') await registry.retireCertificate(eui, fingerprint, 'rotated', NOW);
      }
      if (tc !== null) await registry.addCertificate(eui, { fingerprint: 'f'.repeat(64), category: 'tc', credCrc: 9, notAfter: at(tc) }, NOW);
      if (pending) await registry.startRotation(eui, { category: 'cups', newCrc: 77, targetMode: 'mtls' }, NOW);
    }
  });
  afterEach(async () => {
    await registry.close();
    await store.dispose();
  });

  it('summarises each station by its earliest active CUPS certificate', async () => {
    expect(await fleet.summarizeStationCertificates(NOW)).toEqual({
      stations: 7,
      expired: 1,
      expiringWithin: { '7d': 2, '30d': 4, '90d': 5 },
      nextExpiry: at(3),
    });
  });

  it('lists stations whose certificate expires before an instant, expired included, retired and tc ones not', async () => {
    const page = await fleet.queryStations({ certExpiringBefore: at(30), limit: 100 });
    expect(page.items.map((s) => s.eui)).toEqual(['00000000000000A1', '00000000000000A2', '00000000000000A3', '00000000000000A5', '00000000000000A6']);
    const paged = await fleet.queryStations({ certExpiringBefore: at(30), limit: 2, sort: 'eui', descending: true });
    expect(paged.items.map((s) => s.eui)).toEqual(['00000000000000A6', '00000000000000A5']);
  });

  it('finds renewal candidates: mtls, not expired, no CUPS rotation pending, soonest first, once each', async () => {
    const found = await fleet.findRenewalCandidates({ from: NOW, before: at(90), limit: 10 });
    expect(found.map((c) => [c.eui, Math.round((c.notAfter.getTime() - NOW.getTime()) / DAY)])).toEqual([
      ['00000000000000A1', 3],
      ['00000000000000A2', 20],
      ['00000000000000A4', 60],
    ]);
    expect(await fleet.findRenewalCandidates({ from: NOW, before: at(90), limit: 1 })).toHaveLength(1);
  });
}

for (const driver of drivers) describe.skipIf(driver.skip)(`certificate expiry on ${driver.name}`, () => suite(driver));
