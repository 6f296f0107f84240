import { describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/memory-store.js';
import { localActor } from '../src/operations/context.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { advanceRollout } from '../src/operations/rollout-engine.js';
import { createRollout } from '../src/operations/rollouts.js';
import { registerStation } from '../src/operations/stations.js';
import { createRegistryStores } from '../src/registry/index.js';

// The rollout engine's steps are audited in their own transaction (issue 16,
// item 2): a committed step leaves a rollout.step row naming what it changed, a
// superseded one (another replica moved the rollout on) leaves none; a refused
// write leaves no row either.

describe('audit rows written with the change', () => {
  it('the engine records each step it commits as actor server, and nothing for a superseded or refused one', async () => {
    const stores = await createRegistryStores(':memory:');
    await stores.registry.migrate();
    try {
      const ctx: RolloutContext = { ...stores, blobs: createMemoryBlobStore(), clock: () => new Date(), actor: localActor() };
      const eui = '0016C001FF10A235';
      await registerStation(ctx, { eui, labels: { site: 'a' } });
      await stores.registry.touchStation(eui, { at: new Date(), remoteAddress: null });
      await expect(registerStation(ctx, { eui })).rejects.toMatchObject({ code: 'station_exists' });
      expect((await stores.access.queryAudit({ action: 'station.create', limit: 10 })).items).toHaveLength(1);

      const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'wss://lns-b.example:8887', label: ['site=a'], waves: '100%' });
      const stale = (await stores.rollouts.getRollout(rollout.id))!;
      expect(await advanceRollout({ rollouts: stores.rollouts, fleet: stores.fleet, clock: () => new Date() }, stale)).toBe('advanced');
      const steps = (await stores.access.queryAudit({ action: 'rollout.step', limit: 10 })).items;
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({ actor: 'server', via: 'server', target: rollout.id, detail: { offered: [eui] } });
      expect((await stores.registry.getStation(eui))?.desired.tcUri).toBe('wss://lns-b.example:8887');

      // Decided on the version read before the step above: superseded, nothing written, no row.
      const step = { members: [], rollout: { state: 'paused' as const }, events: [] };
      const row = { at: new Date(), actor: 'x', actorKeyId: null, role: 'admin' as const, via: 'cli', remoteAddress: null, action: 'test.superseded', target: null, detail: null };
      expect(await stores.rollouts.applyStep(stale, step, new Date(), undefined, row)).toBe(false);
      expect((await stores.access.queryAudit({ action: 'test.superseded', limit: 10 })).items).toHaveLength(0);
    } finally {
      await stores.registry.close();
    }
  });
});
