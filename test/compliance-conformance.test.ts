import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPLIANCE_STATES, complianceState, newestByModel, newestFor, type ComplianceState, type LibraryPackage } from '../src/core/compliance.js';
import { createRegistryStores, type FleetStore, type NewRollout, type RolloutStore, type Station, type StationRegistry } from '../src/registry/index.js';
import { seedFleet } from './support/fleet-fixture.js';
import { registryDrivers, type Driver, type Store } from './support/registry-drivers.js';

// Firmware compliance counted in SQL (summary, station filter) against the same
// rule applied station by station in TypeScript, on SQLite and PostgreSQL.
const drivers = (await registryDrivers('compliance')).filter((d) => d.options === undefined && d.name !== 'SQLite :memory:');
const COUNT = 120;
const T0 = new Date('2026-12-01T00:00:00Z');

function rollout(id: string, change: NewRollout['change'], euis: readonly string[]): NewRollout {
  return {
    id,
    name: id,
    change,
    selector: { labels: [], euis },
    plan: { waves: [{ count: 1 }, { percent: 100 }], successThreshold: 1, failureBudget: { count: 0 }, deadlineMs: 3_600_000, soakMs: 0, includeNew: false },
    waveSizes: [1, euis.length],
    rollbackOf: null,
    createdBy: 'test',
    members: euis.map((eui, i) => ({ eui, wave: i === 0 ? 1 : 2 })),
  };
}

function suite(driver: Driver): void {
  let store: Store;
  let registry: StationRegistry;
  let fleet: FleetStore;
  let rollouts: RolloutStore;

  // Seeded once per driver (seeding is the slow part); each test brings its own
  // library and removes it after, and the one that creates rollouts runs last.
  beforeAll(async () => {
    driver.setup?.();
    store = await driver.fresh();
    ({ registry, fleet, rollouts } = await createRegistryStores(store.url));
    await registry.migrate();
    await seedFleet(registry, COUNT);
  });
  afterAll(async () => {
    await registry.close();
    await store.dispose();
    driver.teardown?.();
  });
  afterEach(async () => {
    for (const p of await rollouts.listPackages()) await rollouts.removePackage(p.package).catch(() => undefined);
  });

  const addLibrary = async (library: readonly Omit<LibraryPackage, 'createdAt'>[]) => {
    let at = T0.getTime();
    for (const p of library) {
      await rollouts.addPackage({ package: p.package, blob: `fw/${p.package}`, size: 1, sha256: 'cd'.repeat(32), signatures: [], models: p.models, createdBy: 'test' }, new Date((at += 1000)));
    }
  };

  /** Every station's state by the core rule, given which stations a firmware change is under way for. */
  const expected = async (changing: ReadonlySet<string>) => {
    const library = (await rollouts.listPackages()).map((p) => ({ package: p.package, models: p.models, createdAt: p.createdAt }));
    const newest = newestByModel(library);
    const stations = await registry.listStations();
    const under = (s: Station) => changing.has(s.eui) || s.firmware?.state === 'pending' || s.firmware?.state === 'offered';
    return new Map(stations.map((s) => {
      const model = s.reported?.model ?? null;
      return [s.eui, { model, state: complianceState(newestFor(newest, model), { model, package: s.reported?.package ?? null }, under(s)), newest: newestFor(newest, model) }];
    }));
  };

  const filtered = async (states: ComplianceState[]) => {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await fleet.queryStations({ compliance: states, limit: 9, cursor });
      out.push(...page.items.map((s) => s.eui));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(await fleet.countStations({ compliance: states })).toBe(out.length);
    return out;
  };

  const check = async (changing: ReadonlySet<string>, mustSee: readonly ComplianceState[]) => {
    const want = await expected(changing);
    const summary = await fleet.summarizeFleet({ silentSince: T0 });
    for (const state of COMPLIANCE_STATES) {
      const euis = [...want].filter(([, w]) => w.state === state).map(([eui]) => eui).sort();
      if (mustSee.includes(state)) expect(euis.length, `some station is ${state}`).toBeGreaterThan(0);
      expect(await filtered([state]), state).toEqual(euis);
    }
    // One station at a time agrees too (every seventh, to keep it quick).
    for (const [eui, w] of [...want].filter((_, i) => i % 7 === 0)) expect(await fleet.stationCompliance(eui), eui).toEqual({ state: w.state, newest: w.newest });
    expect(await fleet.stationCompliance('0000000000000000')).toBeUndefined();
    const models = new Set([...want.values()].map((w) => w.model));
    expect(summary.compliance.map((m) => m.model).sort()).toEqual([...models].sort());
    for (const m of summary.compliance) {
      const mine = [...want.values()].filter((w) => w.model === m.model);
      expect(m.stations).toBe(mine.length);
      expect(m.newest).toBe(mine[0]?.newest ?? null);
      for (const state of COMPLIANCE_STATES) expect(m.states[state], `${m.model} ${state}`).toBe(mine.filter((w) => w.state === state).length);
    }
    return { summary, want };
  };

  it('a package for any model counts for every model the library names no package for', async () => {
    await addLibrary([
      { package: '1.1.0', models: [] },
      { package: '2.0.0', models: ['linux'] },
    ]);
    const { summary } = await check(new Set(), ['latest', 'behind', 'ahead', 'unknown']);
    expect(summary.compliance.find((m) => m.model === 'kerlink')?.newest).toBe('1.1.0');
    expect(summary.compliance.find((m) => m.model === 'linux')?.newest).toBe('2.0.0');
    expect(summary.compliance.some((m) => m.model !== null && m.newest === null)).toBe(false);
  });

  it('only packages for any model: every seen station is compared with the newest of them', async () => {
    await addLibrary([
      { package: '1.1.0', models: [] },
      { package: '1.0.0', models: [] },
    ]);
    const { summary } = await check(new Set(), ['latest', 'behind', 'in_progress', 'ahead', 'unknown']);
    for (const m of summary.compliance) expect(m.newest).toBe(m.model === null ? null : '1.1.0');
  });

  it('an empty library: every seen station has no package, none is behind', async () => {
    const { summary } = await check(new Set(), ['no_package', 'unknown']);
    for (const m of summary.compliance) expect(m.states.behind + m.states.latest + m.states.in_progress).toBe(0);
  });
  it('per model: latest, behind, ahead, in progress (targets and firmware rollouts), no package, never seen', async () => {
    await addLibrary([
      { package: '1.0.0', models: ['rpi'] },
      { package: '2.0.0', models: ['rpi', 'linux'] },
      { package: '1.1.0', models: ['corecell'] },
    ]);
    // A firmware rollout holds some behind linux stations (pending members); a TC URI rollout holds others, which stay behind.
    const before = await expected(new Set());
    const behindLinux = [...before].filter(([, w]) => w.model === 'linux' && w.state === 'behind').map(([eui]) => eui);
    expect(behindLinux.length).toBeGreaterThanOrEqual(4);
    const inRollout = behindLinux.slice(0, 3);
    await rollouts.createRollout(rollout('fw', { kind: 'firmware', package: '2.0.0', allowDowngrade: false, maxOffers: 3 }, inRollout), T0);
    await rollouts.createRollout(rollout('tc', { kind: 'tcUri', uri: 'wss://lns.example:6887' }, behindLinux.slice(3)), T0);
    const { summary } = await check(new Set(inRollout), ['latest', 'behind', 'in_progress', 'ahead', 'no_package', 'unknown']);
    // Models with a package first, then kerlink (none in the library), then the never seen.
    expect(summary.compliance.map((m) => m.newest === null)).toEqual([false, false, false, true, true]);
    expect(summary.compliance.at(-1)?.model).toBeNull();
    expect(summary.compliance.find((m) => m.model === 'linux')?.newest).toBe('2.0.0');
    expect(summary.compliance.find((m) => m.model === 'corecell')?.newest).toBe('1.1.0');
    // Several states at once are any of them.
    const both = await filtered(['behind', 'in_progress']);
    expect(both.length).toBe((await filtered(['behind'])).length + (await filtered(['in_progress'])).length);
  });

}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`firmware compliance on ${driver.name}`, () => suite(driver));
}
