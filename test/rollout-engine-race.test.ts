import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { advanceRollout } from '../src/operations/rollout-engine.js';
import { createRollout, showRollout } from '../src/operations/rollouts.js';
import { registerStation } from '../src/operations/stations.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { registryDrivers, type Store } from './support/registry-drivers.js';
import { operationContext } from './support/rollout-fleet.js';

// Two registries on one database stand for two replicas. Both evaluate the same
// rollout from the same read at once: exactly one step is written, the other is
// discarded, and the rollout's event log shows one wave started and each
// station offered once. On PostgreSQL the evaluations really run at once. Two
// SQLite connections in one process cannot (the driver is synchronous: the second
// writer's busy wait would block the first one's commit), so there the stale
// evaluations run one after the other, as they do across processes once the
// first writer commits.
const drivers = (await registryDrivers('rollout engine race')).filter((d) => d.shared && d.options === undefined);

for (const driver of drivers) {
  const concurrent = driver.name.startsWith('PostgreSQL');
  describe.skipIf(driver.skip)(`rollout engine on ${driver.name}`, () => {
    let store: Store;
    let a: Runtime;
    let b: Runtime;
    beforeAll(async () => {
      driver.setup?.();
      store = await driver.fresh();
      a = await openRuntime(loadConfig({ database: store.url, blobs: 'memory:' }));
      b = await openRuntime(loadConfig({ database: store.url, blobs: 'memory:' }));
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await store?.dispose();
      driver.teardown?.();
    });

    it('two evaluators deciding on the same version write one step between them', async () => {
      const ctx = operationContext(a);
      for (let i = 1; i <= 10; i++) {
        const eui = `00000000000E00${i.toString(16).padStart(2, '0')}`;
        await registerStation(ctx, { eui, labels: { race: 'yes' } });
        // Seen once: a rollout skips a station that never contacted the server.
        await a.registry.touchStation(eui, { at: new Date(), remoteAddress: null });
      }
      const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7300', label: ['race=yes'], waves: '3,100%', deadline: '1h' });
      const deps = (rt: Runtime) => ({ rollouts: rt.rollouts, fleet: rt.fleet, clock: () => new Date() });
      for (let round = 0; round < 5; round++) {
        const seen = await a.rollouts.getRollout(rollout.id);
        const evaluators = [() => advanceRollout(deps(a), seen!), () => advanceRollout(deps(b), seen!), () => advanceRollout(deps(b), seen!)];
        const outcomes: string[] = [];
        if (concurrent) outcomes.push(...(await Promise.all(evaluators.map((e) => e()))));
        else for (const e of evaluators) outcomes.push(await e());
        // Round 0 starts wave 1; later rounds find nothing due (no station confirmed) or lose the race.
        if (round === 0) expect(outcomes.sort()).toEqual(['advanced', 'superseded', 'superseded']);
        else expect(outcomes.filter((o) => o === 'advanced')).toEqual([]);
      }
      const shown = await showRollout(ctx, rollout.id);
      expect(shown.events.filter((e) => e.type === 'wave_started').map((e) => e.wave)).toEqual([1]);
      expect(shown.events.filter((e) => e.type === 'offered')).toHaveLength(3);
      expect(shown.rollout.version).toBe(2);
      for (const m of shown.members.filter((x) => x.state === 'offered')) {
        expect((await b.registry.getStation(m.eui))?.desired.tcUri).toBe('ws://127.0.0.1:7300');
      }
    });
  });
}
