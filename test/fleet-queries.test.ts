import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { SYNC_STATES, syncState } from '../src/core/sync-status.js';
import { createRegistryStores, type FleetStore, type Station, type StationQuery, type StationRegistry } from '../src/registry/index.js';
import { seedFleet } from './support/fleet-fixture.js';
import { registryDrivers, type Driver, type Store } from './support/registry-drivers.js';

const drivers = await registryDrivers('fleet queries');
const COUNT = 80;

/** Every page of a query, following cursors, with a check that pages never overlap. */
async function allPages(fleet: FleetStore, query: Omit<StationQuery, 'limit' | 'cursor'>, limit = 7): Promise<Station[]> {
  const out: Station[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await fleet.queryStations({ ...query, limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.nextCursor === null) break;
    expect(page.items.length).toBe(limit);
    cursor = page.nextCursor;
  }
  expect(new Set(out.map((s) => s.eui)).size).toBe(out.length);
  // The dashboard's total: the same filters counted in SQL.
  expect(await fleet.countStations(query), `count of ${JSON.stringify(query)}`).toBe(out.length);
  return out;
}

const euisOf = (stations: readonly Station[]) => stations.map((s) => s.eui);

function suite(driver: Driver): void {
  let store: Store;
  let registry: StationRegistry;
  let fleet: FleetStore;
  let all: Station[];

  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());
  beforeEach(async () => {
    store = await driver.fresh();
    ({ registry, fleet } = await createRegistryStores(store.url));
    await registry.migrate();
    await seedFleet(registry, COUNT);
    all = [];
    for (const s of await registry.listStations()) all.push(s);
  });
  afterEach(async () => {
    await registry.close();
    await store.dispose();
  });

  it('sync state in SQL matches core syncState for every station, in filters and in the summary', async () => {
    const seenStates = new Set(all.map(syncState));
    expect([...seenStates].sort()).toEqual([...SYNC_STATES].sort());
    const summary = await fleet.summarizeFleet({ silentSince: new Date('2026-11-15T00:00:00Z') });
    expect(summary.total).toBe(COUNT);
    for (const state of SYNC_STATES) {
      const expected = all.filter((s) => syncState(s) === state).map((s) => s.eui);
      expect(euisOf(await allPages(fleet, { states: [state] })), state).toEqual(expected);
      expect(summary.byState[state], state).toBe(expected.length);
    }
    const twoStates = all.filter((s) => ['failed', 'offered'].includes(syncState(s))).map((s) => s.eui);
    expect(euisOf(await allPages(fleet, { states: ['failed', 'offered'] }))).toEqual(twoStates);
  });

  it('summary counts by package, model, silence and upgrade state agree with the stations', async () => {
    const silentSince = new Date('2026-11-15T00:00:00Z');
    const summary = await fleet.summarizeFleet({ silentSince });
    const count = (f: (s: Station) => boolean) => all.filter(f).length;
    expect(summary.silent).toBe(count((s) => s.lastSeenAt !== null && s.lastSeenAt < silentSince));
    for (const { value, count: n } of summary.byPackage) expect(n).toBe(count((s) => (s.reported?.package ?? null) === value));
    for (const { value, count: n } of summary.byModel) expect(n).toBe(count((s) => (s.reported?.model ?? null) === value));
    expect(summary.byModel.reduce((a, b) => a + b.count, 0)).toBe(COUNT);
    for (const state of ['pending', 'offered', 'upgraded', 'failed'] as const) {
      expect(summary.upgrades[state]).toBe(count((s) => s.firmware?.state === state));
    }
    const silent = await allPages(fleet, { silentSince });
    expect(silent.length).toBe(summary.silent);
  });

  it('label selectors k=v, k!=v, k and !k, combined', async () => {
    const cases: [StationQuery['labels'], (s: Station) => boolean][] = [
      [[{ key: 'site', op: 'eq', value: 'north' }], (s) => s.labels.site === 'north'],
      [[{ key: 'site', op: 'ne', value: 'north' }], (s) => s.labels.site !== 'north'],
      [[{ key: 'tier', op: 'exists' }], (s) => 'tier' in s.labels],
      [[{ key: 'tier', op: 'absent' }], (s) => !('tier' in s.labels)],
      [
        [{ key: 'site', op: 'eq', value: 'south' }, { key: 'tier', op: 'ne', value: 'gold' }],
        (s) => s.labels.site === 'south' && s.labels.tier !== 'gold',
      ],
    ];
    for (const [labels, match] of cases) {
      const expected = all.filter(match).map((s) => s.eui);
      expect(expected.length).toBeGreaterThan(0);
      expect(euisOf(await allPages(fleet, { labels })), JSON.stringify(labels)).toEqual(expected);
    }
  });

  it('label rows follow label changes and station removal', async () => {
    const eui = all[0]!.eui;
    await registry.updateStation(eui, { labels: { site: null, special: 'yes' } });
    expect(euisOf(await allPages(fleet, { labels: [{ key: 'special', op: 'eq', value: 'yes' }] }))).toEqual([eui]);
    expect(euisOf(await allPages(fleet, { labels: [{ key: 'site', op: 'exists' }] }))).not.toContain(eui);
    await registry.removeStation(eui);
    expect(await allPages(fleet, { labels: [{ key: 'special', op: 'exists' }] })).toEqual([]);
  });

  it('model, package, station version prefix and text filters', async () => {
    const expectMatch = async (query: Omit<StationQuery, 'limit'>, match: (s: Station) => boolean) => {
      const expected = all.filter(match).map((s) => s.eui);
      expect(expected.length, JSON.stringify(query)).toBeGreaterThan(0);
      expect(euisOf(await allPages(fleet, query)), JSON.stringify(query)).toEqual(expected);
    };
    await expectMatch({ model: 'rpi' }, (s) => s.reported?.model === 'rpi');
    await expectMatch({ package: '1.1.0' }, (s) => s.reported?.package === '1.1.0');
    await expectMatch({ stationVersion: '2.0.6' }, (s) => s.reported?.station.startsWith('2.0.6') === true);
    await expectMatch({ text: 'barn 1' }, (s) => s.name?.toLowerCase().includes('barn 1') === true);
    await expectMatch({ text: 'ff0000004' }, (s) => s.eui.includes('FF0000004'));
    expect(await allPages(fleet, { text: '%' })).toEqual([]);
  });

  it('pages in every sort order, both directions, cover the listing exactly once', async () => {
    const key = {
      eui: (s: Station) => s.eui,
      name: (s: Station) => s.name ?? '',
      lastSeen: (s: Station) => s.lastSeenAt?.getTime() ?? 0,
    };
    for (const sort of ['eui', 'name', 'lastSeen'] as const) {
      for (const descending of [false, true]) {
        const expected = [...all]
          .sort((a, b) => {
            const ka = key[sort](a);
            const kb = key[sort](b);
            const c = ka < kb ? -1 : ka > kb ? 1 : a.eui < b.eui ? -1 : a.eui > b.eui ? 1 : 0;
            return descending ? -c : c;
          })
          .map((s) => s.eui);
        expect(euisOf(await allPages(fleet, { sort, descending }, 9)), `${sort} ${descending}`).toEqual(expected);
      }
    }
  });

  it('refuses a cursor from another sort, a forged cursor and a bad limit', async () => {
    const page = await fleet.queryStations({ limit: 5 });
    expect(page.nextCursor).not.toBeNull();
    for (const query of [
      { limit: 5, sort: 'name' as const, cursor: page.nextCursor ?? undefined },
      { limit: 5, cursor: 'bm90IGEgY3Vyc29y' },
      { limit: 0 },
      { limit: 1001 },
    ]) {
      await expect(fleet.queryStations(query)).rejects.toSatisfy((e) => e instanceof CupsError && e.kind === 'invalid_argument');
    }
  });

  it('events page fleet-wide and per station, filtered by type and time', async () => {
    const eui = all[1]!.eui;
    await registry.appendEvents(eui, [{ type: 'config', message: 'one' }, { type: 'config', message: 'two' }], new Date('2026-12-01T00:00:00Z'));
    const fleetEvents = [];
    let cursor: string | undefined;
    do {
      const page = await fleet.queryEvents({ limit: 6, cursor });
      fleetEvents.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const ids = fleetEvents.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    const exchanges = all.filter((s) => s.reported !== null).length;
    expect(fleetEvents.filter((e) => e.type === 'exchange').length).toBe(exchanges);

    const config = await fleet.queryEvents({ eui, types: ['config'], limit: 10 });
    expect(config.items.map((e) => e.message)).toEqual(['two', 'one']);
    const since = await fleet.queryEvents({ types: ['config'], since: new Date('2026-12-01T00:00:00Z'), limit: 100 });
    expect(since.items.every((e) => e.at.getTime() >= Date.parse('2026-12-01T00:00:00Z'))).toBe(true);
    const until = await fleet.queryEvents({ types: ['config'], until: new Date('2026-12-01T00:00:00Z'), limit: 100 });
    expect(until.items.some((e) => e.eui === eui && e.message === 'one')).toBe(false);
  });
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`fleet queries on ${driver.name}`, () => suite(driver));
}
