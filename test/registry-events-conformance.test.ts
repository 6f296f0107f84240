import { describe, expect, it } from 'vitest';
import type { EventRetention } from '../src/registry/event-types.js';
import { registryDrivers, registryPerTest, type Driver } from './support/registry-drivers.js';

const drivers = await registryDrivers('registry events conformance');

const EUI = '0016C001FF10A235';
const OTHER = '0016C001FF10A236';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const DAY = 86_400_000;
const RETENTION: EventRetention = { maxAgeMs: 30 * DAY, perStation: 20, refusalRowsPerStation: 5 };
const HASH = '33'.repeat(32);

function eventsConformance(driver: Driver): void {
  const fx = registryPerTest(driver, { eventRetention: RETENTION, now: () => new Date(T0) }, [EUI, OTHER]);
  const at = (ms: number) => new Date(T0 + ms);

  // The cache passes these writes straight through; the flood runs once per database, not again behind it.
  it.skipIf(driver.options !== undefined)('coalesces 10,000 refusals into one row per reason and source, with count and first/last time, and keeps the real history visible', async () => {
    await fx.registry.appendEvents(EUI, [{ type: 'config', message: 'operator set the CUPS URI' }], at(0));
    const kinds = [
      { code: 'credentials_required', source: '192.0.2.1' },
      { code: 'credentials_required', source: '192.0.2.2' },
      { code: 'token_invalid', source: '192.0.2.1' },
    ];
    // Eight writers at once, as concurrent requests would be: the upsert must not lose a count or duplicate a row.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 10_000) {
          const i = next++;
          const kind = kinds[i % kinds.length]!;
          await fx.registry.recordRefusal(EUI, { ...kind, message: `refused (${kind.code})` }, at(1000 + i));
        }
      }),
    );
    await fx.registry.appendEvents(EUI, [{ type: 'exchange', message: 'sent cupsUri' }], at(20_000));

    const events = await fx.registry.listEvents(EUI);
    expect(events).toHaveLength(5);
    const refusals = events.filter((e) => e.count !== undefined);
    expect(refusals).toHaveLength(3);
    expect(refusals.reduce((sum, e) => sum + (e.count ?? 0), 0)).toBe(10_000);
    const invalid = refusals.find((e) => e.detail?.code === 'token_invalid');
    expect(invalid).toMatchObject({ type: 'auth', count: 3333, detail: { code: 'token_invalid', remoteAddress: '192.0.2.1' } });
    expect(invalid?.firstAt?.getTime()).toBeLessThan(invalid?.at.getTime() ?? 0);
    expect(events.filter((e) => e.count === undefined).map((e) => e.message)).toEqual(['sent cupsUri', 'operator set the CUPS URI']);
    expect(await fx.registry.listEvents(OTHER)).toEqual([]);
  });

  it('keeps at most refusalRowsPerStation refusal rows, the most recently repeated, without touching other history', async () => {
    await fx.registry.appendEvents(EUI, [{ type: 'config', message: 'kept' }], at(0));
    for (let i = 0; i < 12; i++) {
      await fx.registry.recordRefusal(EUI, { code: 'credentials_required', source: `198.51.100.${i}`, message: 'refused' }, at(10 + i));
    }
    const events = await fx.registry.listEvents(EUI);
    const sources = events.filter((e) => e.count !== undefined && e.detail?.otherSources !== true).map((e) => e.detail?.remoteAddress);
    expect(sources.sort()).toEqual(['198.51.100.10', '198.51.100.11', '198.51.100.7', '198.51.100.8', '198.51.100.9']);
    // The seven pushed out are counted in the reason's "other sources" row.
    expect(events.find((e) => e.detail?.otherSources === true)).toMatchObject({ count: 7, detail: { code: 'credentials_required', remoteAddress: null } });
    expect(events.some((e) => e.message === 'kept')).toBe(true);
  });

  it.skipIf(driver.options !== undefined)('a stranger probing from 250 addresses after 1,000 refusals loses no count: evicted rows fold into one "other sources" row per reason', async () => {
    // 1,000 earlier refusals of the station's own address, then 250 wrong tokens from 250 others (and a few of another reason).
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < 1_000) {
          const i = next++;
          await fx.registry.recordRefusal(EUI, { code: 'token_invalid', source: '192.0.2.1', message: 'refused' }, at(i));
        }
      }),
    );
    for (let i = 0; i < 250; i++) {
      await fx.registry.recordRefusal(EUI, { code: 'token_invalid', source: `10.0.${i >> 8}.${i & 255}`, message: 'refused' }, at(2_000 + i));
      if (i % 50 === 0) await fx.registry.recordRefusal(EUI, { code: 'credentials_required', source: `10.1.0.${i}`, message: 'refused' }, at(2_000 + i));
    }
    const check = async () => {
      const rows = (await fx.registry.listEvents(EUI)).filter((e) => e.count !== undefined);
      const byReason = (code: string) => rows.filter((e) => e.detail?.code === code).reduce((sum, e) => sum + (e.count ?? 0), 0);
      expect(rows.reduce((sum, e) => sum + (e.count ?? 0), 0)).toBe(1_255);
      expect(byReason('token_invalid')).toBe(1_250);
      expect(byReason('credentials_required')).toBe(5);
      // Bounded: the newest sources, plus at most one "other sources" row per reason.
      const folded = rows.filter((e) => e.detail?.otherSources === true);
      expect(rows.length - folded.length).toBeLessThanOrEqual(RETENTION.refusalRowsPerStation);
      expect(folded.map((e) => e.detail?.code).sort()).toEqual(['credentials_required', 'token_invalid']);
      const other = folded.find((e) => e.detail?.code === 'token_invalid');
      expect(other?.firstAt?.getTime()).toBe(T0);
      expect(other?.count).toBeGreaterThanOrEqual(1_000);
    };
    await check();
    // The sweep folds the same way and leaves the counts as they are.
    await fx.registry.pruneEvents(at(10_000));
    await check();
  });

  it('says false for a refusal of an EUI that is not registered, writing nothing', async () => {
    expect(await fx.registry.recordRefusal('0000000000000009', { code: 'x', source: null, message: 'refused' }, at(0))).toBe(false);
  });

  it('bounds ordinary history per station as events are written, and by age in the sweep', async () => {
    for (let i = 0; i < 30; i++) await fx.registry.appendEvents(EUI, [{ type: 'config', message: `change ${i}` }], at(i));
    const kept = await fx.registry.listEvents(EUI);
    expect(kept).toHaveLength(20);
    expect(kept[0]?.message).toBe('change 29');
    expect(kept.at(-1)?.message).toBe('change 10');

    await fx.registry.appendEvents(OTHER, [{ type: 'config', message: 'old' }], at(0));
    await fx.registry.recordRefusal(OTHER, { code: 'token_invalid', source: null, message: 'old refusal' }, at(1));
    await fx.registry.appendEvents(OTHER, [{ type: 'config', message: 'recent' }], at(29 * DAY));
    const deleted = await fx.registry.pruneEvents(at(31 * DAY));
    expect(deleted).toBeGreaterThanOrEqual(2);
    expect((await fx.registry.listEvents(OTHER)).map((e) => e.message)).toEqual(['recent']);
    // EUI's events were all written at T0 + seconds: older than 30 days at the sweep.
    expect(await fx.registry.listEvents(EUI)).toEqual([]);
  });

  it('marks an exposed token compromised once, keeps it valid, and tells the station history', async () => {
    await fx.registry.addToken(EUI, { id: 'tok', hash: HASH, category: 'cups', credCrc: 7 }, at(0));
    expect(await fx.registry.markTokenCompromised('tok', 'sent over plain HTTP from 192.0.2.9', at(5))).toBe(true);
    expect(await fx.registry.markTokenCompromised('tok', 'sent over plain HTTP again', at(6))).toBe(false);
    expect(await fx.registry.markTokenCompromised('nope', 'x', at(6))).toBe(false);
    const token = (await fx.registry.getStationAuth(EUI))?.tokens[0];
    expect(token).toMatchObject({ id: 'tok', status: 'active', compromisedAt: at(5), compromisedReason: 'sent over plain HTTP from 192.0.2.9' });
    expect(await fx.registry.findToken(HASH)).toMatchObject({ status: 'active', compromisedAt: at(5) });
    const events = (await fx.registry.listEvents(EUI)).filter((e) => e.detail?.code === 'token_compromised');
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toMatch(/lock the station out/);
    expect(events[0]?.message).toContain(`bscups station rotate ${EUI}`);
  });

  it('records a firmware delivery: a complete one counts an offer, a cut-off one only its event', async () => {
    await fx.registry.setFirmwareTarget(EUI, {
      package: '1.0.1',
      blob: 'fw-1.0.1',
      size: 1000,
      sha256: '00'.repeat(32),
      signatures: [{ keyCrc: 1, signature: 'AA==' }],
      maxOffers: 3,
      fromPackage: '1.0.0',
      requestedAt: at(0),
    });
    const cut = await fx.registry.recordFirmwareDelivery(EUI, { at: at(1), events: [{ type: 'firmware_interrupted', message: 'cut off', detail: { bytesSent: 10 } }] });
    expect(cut).toBeNull();
    expect((await fx.registry.getStation(EUI))?.firmware).toMatchObject({ state: 'pending', offers: 0 });
    const done = await fx.registry.recordFirmwareDelivery(EUI, { at: at(2), offered: '1.0.1', events: [{ type: 'firmware_offered', message: 'offered' }] });
    expect(done).toMatchObject({ state: 'offered', offers: 1, lastOfferedAt: at(2) });
    expect((await fx.registry.listEvents(EUI)).map((e) => e.type)).toEqual(['firmware_offered', 'firmware_interrupted']);
    // The station's next exchange can report the new package before the delivery is written down.
    await fx.registry.updateFirmware(EUI, { package: '1.0.1', state: 'upgraded', upgradedAt: at(3) });
    expect(await fx.registry.recordFirmwareDelivery(EUI, { at: at(4), offered: '1.0.1', events: [] })).toMatchObject({ state: 'upgraded', offers: 2 });
    expect(await fx.registry.recordFirmwareDelivery(EUI, { at: at(5), offered: '0.9', events: [] })).toBeNull();
  });
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`registry events (${driver.name})`, () => eventsConformance(driver));
}
