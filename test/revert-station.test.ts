import { describe, expect, it } from 'vitest';
import { localActor } from '../src/operations/context.js';
import { changeStation } from '../src/operations/stations.js';
import { registryDrivers } from './support/registry-drivers.js';
import { exchange, stationAppPerTest } from './support/station-app.js';
import { stationRequest } from './support/tls-client.js';

// A direct `station set --tc-uri URI --revert-unhealthy`, through the real
// station route on every registry driver, with the server's clock injected: the
// station's own rhythm (a regular check a day apart, the 450 s beat of a dead
// LNS) without waiting for it. Once the new TC URI is delivered and the
// station's health turns lns_failing, the old one goes out at its next exchange;
// with it the station is healthy again, and the guard is gone.

const EUI = '0016C001FF10F001';
const OLD = 'wss://lns.example.com:8887';
const TYPO = 'wss://lns.example.com:8878';
const GOOD = 'wss://lns2.example.com:8887';
const T0 = Date.parse('2026-03-02T12:04:00Z');
const D = 24 * 3_600_000;
const BEAT = 450_200;

const drivers = await registryDrivers('revert of a TC URI set with --revert-unhealthy');

let now = T0;
const clock = () => new Date(now);

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`station revert on ${driver.name}`, () => {
    const stationApp = stationAppPerTest(driver, clock);

    async function open() {
      const { stores: s, app, blobs } = await stationApp.open([{ eui: EUI, tcUri: OLD }]);
      const ctx = { ...s, blobs, clock, actor: localActor() };
      /** One exchange at `at` of a station running `tcUri`; the TC URI the answer carries, if any. */
      const poll = async (at: number, tcUri: string): Promise<string | undefined> => {
        now = at;
        return (await exchange(app, stationRequest(EUI, { tcUri }))).tcUri ?? undefined;
      };
      return { s, ctx, poll };
    }

    it('a TC URI whose LNS is dead: set back at the exchange where health turns lns_failing, delivered at the next, healthy again, guard gone', async () => {
      const { s, ctx, poll } = await open();
      await poll(T0, OLD);
      await poll(T0 + D, OLD);
      expect((await s.registry.getStation(EUI))?.health?.state).toBe('healthy');
      now = T0 + D + 60_000;
      await changeStation(ctx, EUI, { tcUri: TYPO, revertUnhealthy: true });
      // Delivered at its next regular check; then the station is back on the 450 s beat.
      expect(await poll(T0 + 2 * D, OLD)).toBe(TYPO);
      const t = T0 + 2 * D;
      expect(await poll(t + BEAT, TYPO)).toBeUndefined();
      expect((await s.registry.getStation(EUI))?.desired.tcUri).toBe(TYPO);
      await poll(t + 2 * BEAT, TYPO);
      const reverted = await s.registry.getStation(EUI);
      expect(reverted?.health?.state).toBe('lns_failing');
      expect(reverted?.desired.tcUri).toBe(OLD);
      // Its very next exchange carries the old URI back.
      expect(await poll(t + 3 * BEAT, TYPO)).toBe(OLD);
      // With its old LNS working, it calls only at its regular check: healthy.
      expect(await poll(t + 3 * BEAT + D, OLD)).toBeUndefined();
      expect((await s.registry.getStation(EUI))?.health?.state).toBe('healthy');

      const config = (await s.registry.listEvents(EUI)).filter((e) => e.type === 'config').map((e) => e.message);
      expect(config[0]).toBe(`desired TC URI set back to ${OLD} (--revert-unhealthy of ${localActor().name}): its health turned lns_failing once it had TC URI ${TYPO}; the station gets it at its next exchange`);
      const audit = (await s.access.queryAudit({ action: 'station.revert', limit: 10 })).items;
      expect(audit).toEqual([expect.objectContaining({ actor: 'server', target: EUI, detail: expect.objectContaining({ from: TYPO, to: OLD }) })]);
      expect((await s.access.queryAudit({ action: 'station.update', limit: 10 })).items[0]?.detail).toMatchObject({ tcUri: TYPO, revertUnhealthy: true });
      // The guard is gone: failing again (with the old URI) changes nothing.
      for (let k = 1; k <= 3; k++) await poll(t + 3 * BEAT + D + k * BEAT, OLD);
      expect((await s.registry.getStation(EUI))?.desired.tcUri).toBe(OLD);
      expect((await s.access.queryAudit({ action: 'station.revert', limit: 10 })).items).toHaveLength(1);
    });

    it('a TC URI that works: the guard is cleared once the station is healthy with it, and a later failure keeps it', async () => {
      const { s, ctx, poll } = await open();
      await poll(T0, OLD);
      await poll(T0 + D, OLD);
      await changeStation(ctx, EUI, { tcUri: GOOD, revertUnhealthy: true });
      expect(await poll(T0 + 2 * D, OLD)).toBe(GOOD);
      await poll(T0 + 3 * D, GOOD);
      expect((await s.access.queryAudit({ action: 'station.revert_cleared', limit: 10 })).items).toHaveLength(1);
      for (let k = 1; k <= 3; k++) await poll(T0 + 3 * D + k * BEAT, GOOD);
      const later = await s.registry.getStation(EUI);
      expect(later?.health?.state).toBe('lns_failing');
      expect(later?.desired.tcUri).toBe(GOOD);
    });

    it('set again without the flag, the guard is dropped; without a TC URI the flag is refused', async () => {
      const { s, ctx, poll } = await open();
      await poll(T0, OLD);
      await changeStation(ctx, EUI, { tcUri: TYPO, revertUnhealthy: true });
      await changeStation(ctx, EUI, { tcUri: GOOD });
      expect(await poll(T0 + D, OLD)).toBe(GOOD);
      for (let k = 1; k <= 3; k++) await poll(T0 + D + k * BEAT, GOOD);
      expect((await s.registry.getStation(EUI))?.desired.tcUri).toBe(GOOD);
      await expect(changeStation(ctx, EUI, { name: 'x', revertUnhealthy: true })).rejects.toMatchObject({ code: 'revert_not_possible' });
      await s.registry.createStation({ eui: '0016C001FF10F002' });
      await expect(changeStation(ctx, '0016C001FF10F002', { tcUri: GOOD, revertUnhealthy: true })).rejects.toMatchObject({ code: 'revert_not_possible', message: expect.stringMatching(/no other TC URI before/) });
      expect((await s.registry.getStation('0016C001FF10F002'))?.desired.tcUri).toBeNull();
    });
  });
}
