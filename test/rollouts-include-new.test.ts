import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { advanceRollouts, type RolloutEngineDeps } from '../src/operations/rollout-engine.js';
import { createRollout, showRollout } from '../src/operations/rollouts.js';
import { changeStation, registerStation } from '../src/operations/stations.js';
import type { FleetStore } from '../src/registry/index.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { createTestSchema, shouldRunPostgresSuite, type TestSchema } from './support/postgres.js';
import { operationContext } from './support/rollout-fleet.js';

// --include-new after the first scan reads only the stations changed since the
// last committed scan, not the whole selection, on both databases. Rows are
// counted by a wrapper that passes every call on to the real fleet store.
const pgRuns = await shouldRunPostgresSuite('rollouts include-new watermark');
const STATIONS = 300;

describe.each([
  { name: 'SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
])('include-new scans on $name', ({ postgres }) => {
  let dir: string;
  let schema: TestSchema | undefined;
  let rt: Runtime;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bscups-include-new-'));
    if (postgres) schema = await createTestSchema();
    rt = await openRuntime(loadConfig({ database: schema?.url ?? join(dir, 'registry.sqlite'), blobs: join(dir, 'blobs') }));
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(postgres && !pgRuns)('reads the whole selection once, then only stations registered, relabelled or first reporting since; they still join', async () => {
    const ctx = operationContext(rt);
    const eui = (i: number) => `E0${i.toString(16).toUpperCase().padStart(14, '0')}`;
    // A station's first report, as an exchange records it.
    const report = (id: string) => rt.registry.recordExchange(id, {
      at: new Date(), remoteAddress: null, events: [],
      reported: { cupsUri: null, tcUri: null, cupsCredCrc: 0, tcCredCrc: 0, station: '2.0.6', model: 'linux', package: '1.0.0', keys: [] },
    });
    for (let i = 1; i <= STATIONS; i++) {
      await registerStation(ctx, { eui: eui(i), labels: { group: 'new' } });
      await report(eui(i));
    }
    await registerStation(ctx, { eui: eui(9000) });
    await report(eui(9000));
    // The selector's model only matches stations that have reported one.
    const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'wss://lns.example:6887', label: ['group=new'], model: 'linux', waves: '100%', includeNew: true, deadline: '1h' });

    let rows = 0;
    const fleet = new Proxy(rt.fleet, {
      get(target, prop) {
        if (prop === 'queryStations') {
          return async (...args: Parameters<FleetStore['queryStations']>) => {
            const page = await target.queryStations(...args);
            rows += page.items.length;
            return page;
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const deps: RolloutEngineDeps = { rollouts: rt.rollouts, fleet, clock: () => new Date(), joinWatermarks: new Map(), joinScanOverlapMs: 0 };
    const pass = async () => {
      rows = 0;
      const counts = await advanceRollouts(deps, (id, e) => { throw new Error(`rollout ${id}: ${String(e)}`); });
      expect(counts.superseded).toBe(0);
      return rows;
    };
    const members = async () => (await showRollout(ctx, rollout.id)).members.map((m) => m.eui);

    expect(await pass()).toBe(STATIONS); // first scan: the whole selection; every member offered
    expect(await pass()).toBe(STATIONS); // the offers changed those stations after the first scan began
    expect(await pass()).toBe(0); // nothing changed since

    await registerStation(ctx, { eui: eui(5000), labels: { group: 'new' } });
    expect(await pass()).toBe(0); // registered, but no model reported yet: not selected
    await report(eui(5000));
    expect(await pass()).toBe(1); // its first report
    expect(await members()).toContain(eui(5000));

    await changeStation(ctx, eui(9000), { labels: { group: 'new' } });
    expect(await pass()).toBe(2); // the relabelled station, and the joiner its offer changed after the last scan began
    expect(await members()).toContain(eui(9000));
    expect((await showRollout(ctx, rollout.id)).events.filter((e) => e.type === 'joined').map((e) => e.eui)).toEqual([eui(5000), eui(9000)]);

    // Without the engine's watermarks, every evaluation reads the whole selection again.
    const { joinWatermarks: _dropped, ...unkept } = deps;
    rows = 0;
    await advanceRollouts(unkept, () => undefined);
    expect(rows).toBe(STATIONS + 2);
  }, 120_000);

  it.skipIf(postgres && !pgRuns)('a station registered later joins when it is first seen, not before (a never-seen member would only be skipped)', async () => {
    const ctx = operationContext(rt);
    const report = (id: string) => rt.registry.recordExchange(id, {
      at: new Date(), remoteAddress: null, events: [],
      reported: { cupsUri: null, tcUri: null, cupsCredCrc: 0, tcCredCrc: 0, station: '2.0.6', model: 'linux', package: '1.0.0', keys: [] },
    });
    await registerStation(ctx, { eui: 'E100000000000001', labels: { group: 'late' } });
    await report('E100000000000001');
    const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'wss://lns.example:6888', label: ['group=late'], waves: '100%', includeNew: true, deadline: '1h' });
    const deps: RolloutEngineDeps = { rollouts: rt.rollouts, fleet: rt.fleet, clock: () => new Date(), joinWatermarks: new Map(), joinScanOverlapMs: 0 };
    const pass = () => advanceRollouts(deps, (id, e) => { throw new Error(`rollout ${id}: ${String(e)}`); });
    const members = async () => (await showRollout(ctx, rollout.id)).members.map((m) => [m.eui, m.state]);
    await pass();
    await registerStation(ctx, { eui: 'E100000000000002', labels: { group: 'late' } });
    await pass();
    expect(await members()).toEqual([['E100000000000001', 'offered']]);
    await report('E100000000000002');
    await pass();
    expect(await members()).toEqual([['E100000000000001', 'offered'], ['E100000000000002', 'offered']]);
  }, 60_000);
});
