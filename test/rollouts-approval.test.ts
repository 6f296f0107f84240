import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Actor } from '../src/operations/context.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { advanceRollouts } from '../src/operations/rollout-engine.js';
import { decideRollout, retryRollout } from '../src/operations/rollout-decisions.js';
import { controlRollout, createRollout, showRollout } from '../src/operations/rollouts.js';
import { registerStation } from '../src/operations/stations.js';
import { addWebhook, listDeliveries } from '../src/operations/webhooks.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { registryDrivers, type Store } from './support/registry-drivers.js';

// Approval, pause after each wave, pace and retry, through the operations layer on
// SQLite (file) and PostgreSQL, with an injected clock: stations "call" by recording an
// exchange at the test's time, so a day of rollout runs in milliseconds. Two runtimes
// on one database stand for two replicas.
const drivers = (await registryDrivers('rollout approval')).filter((d) => d.shared && d.options === undefined);

const T0 = Date.parse('2026-12-01T00:00:00Z');
const OLD = 'ws://127.0.0.1:7100';
const NEW = 'ws://127.0.0.1:7200';

const key = (name: string, keyId: string, role: Actor['role'] = 'operator'): Actor => ({ name, keyId, role, via: 'api', remoteAddress: '127.0.0.1' });
const ALICE = key('alice', 'k-alice');
const BOB = key('bob', 'k-bob');
const CAROL = key('carol', 'k-carol');
const VIEWER = key('vera', 'k-vera', 'viewer');

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`rollout approval, pause after wave, pace and retry on ${driver.name}`, () => {
    let store: Store;
    let a: Runtime;
    let b: Runtime;
    let now = T0;
    const clock = () => new Date(now);
    const ctx = (rt: Runtime, actor: Actor, extra: Partial<RolloutContext> = {}): RolloutContext & { webhooks: Runtime['webhooks'] } =>
      ({ registry: rt.registry, fleet: rt.fleet, access: rt.access, rollouts: rt.rollouts, blobs: rt.blobs, webhooks: rt.webhooks, clock, actor, ...extra });
    const engine = (rt: Runtime) => advanceRollouts({ rollouts: rt.rollouts, fleet: rt.fleet, clock }, (id, e) => {
      throw new Error(`rollout ${id}: ${String(e)}`);
    });
    /** The station calls and reports this TC URI. */
    const report = (eui: string, tcUri: string) =>
      a.registry.recordExchange(eui, {
        at: clock(),
        remoteAddress: '127.0.0.1',
        reported: { cupsUri: 'http://127.0.0.1:6090', tcUri, cupsCredCrc: 0, tcCredCrc: 0, station: '2.0.6(linux/std)', model: 'linux', package: '1.0.0', keys: [] },
        events: [{ type: 'exchange', message: 'answered' }],
      });
    async function fleet(prefix: string, n: number, group: string): Promise<string[]> {
      const euis: string[] = [];
      for (let i = 1; i <= n; i++) {
        const eui = `${prefix}${i.toString(16).toUpperCase().padStart(16 - prefix.length, '0')}`;
        await registerStation(ctx(a, ALICE), { eui, labels: { group }, tcUri: OLD });
        await report(eui, OLD);
        euis.push(eui);
      }
      return euis;
    }
    const events = async (id: string, type: string) => (await showRollout(ctx(a, ALICE), id)).events.filter((e) => e.type === type);

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

    it('waits for approval by another key, offers nothing meanwhile, and tells webhooks in the same transaction', async () => {
      const hook = await addWebhook(ctx(a, key('root', 'k-root', 'admin')), { url: 'http://127.0.0.1:9/hook', events: 'rollout.waiting_for_approval' });
      const euis = await fleet('A1', 2, 'approve');
      const { rollout } = await createRollout(ctx(a, ALICE), { tcUri: NEW, label: ['group=approve'], waves: '100%', requireApproval: true });
      expect(rollout.state).toBe('waiting_for_approval');
      const deliveries = await listDeliveries(ctx(a, key('root', 'k-root', 'admin')), { webhook: hook.id });
      expect(deliveries.map((d) => d.eventType)).toEqual(['rollout.waiting_for_approval']);

      await engine(a);
      expect((await a.registry.getStation(euis[0]!))?.desired.tcUri).toBe(OLD);
      expect(await events(rollout.id, 'offered')).toHaveLength(0);

      await expect(decideRollout(ctx(a, ALICE), rollout.id, 'approve')).rejects.toMatchObject({ code: 'approval_by_creator', kind: 'permission_denied' });
      // The same person through another key is another identity; the same key under another name is not.
      await expect(decideRollout(ctx(a, { ...ALICE, name: 'alice-renamed' }), rollout.id, 'approve')).rejects.toMatchObject({ code: 'approval_by_creator' });
      await expect(decideRollout(ctx(a, VIEWER), rollout.id, 'approve')).rejects.toMatchObject({ code: 'role_required' });
      await expect(controlRollout(ctx(a, BOB), rollout.id, 'resume')).rejects.toMatchObject({ code: 'rollout_state' });

      const approved = await decideRollout(ctx(a, BOB), rollout.id, 'approve');
      expect(approved.rollout.state).toBe('running');
      expect(approved.rollout.approval).toMatchObject({ decision: 'approved', by: 'bob' });
      const audit = await a.access.queryAudit({ action: 'rollout.approve', target: rollout.id, limit: 10 });
      expect(audit.items.map((e) => [e.actor, e.actorKeyId])).toEqual([['bob', 'k-bob']]);

      await engine(a);
      expect((await a.registry.getStation(euis[0]!))?.desired.tcUri).toBe(NEW);
      await expect(decideRollout(ctx(a, CAROL), rollout.id, 'deny')).rejects.toMatchObject({ code: 'rollout_not_waiting' });
    });

    it('locally, another operating-system user is another identity, the same one is not', async () => {
      await fleet('A2', 1, 'local');
      const local = (user: string): Actor => ({ name: `local:${user}`, keyId: null, role: 'admin', via: 'cli', remoteAddress: null });
      const { rollout } = await createRollout(ctx(a, local('ops')), { tcUri: NEW, label: ['group=local'], requireApproval: true });
      await expect(decideRollout(ctx(a, local('ops')), rollout.id, 'approve')).rejects.toMatchObject({ code: 'approval_by_creator' });
      expect((await decideRollout(ctx(a, local('lead')), rollout.id, 'approve')).rollout.state).toBe('running');
    });

    it('the server policy makes every rollout wait; a denial aborts it, releases its stations, and is audited', async () => {
      const euis = await fleet('A3', 2, 'deny');
      const policy = { rolloutPolicy: { needApproval: true, maxConcurrentDownloads: null } };
      const { rollout } = await createRollout(ctx(a, ALICE, policy), { tcUri: NEW, label: ['group=deny'] });
      expect(rollout.state).toBe('waiting_for_approval');
      expect(rollout.plan.requireApproval).toBe(true);
      const denied = await decideRollout(ctx(a, BOB), rollout.id, 'deny');
      expect(denied.rollout.state).toBe('aborted');
      expect(denied.rollout.approval).toMatchObject({ decision: 'denied', by: 'bob' });
      expect((await a.access.queryAudit({ action: 'rollout.deny', target: rollout.id, limit: 10 })).items).toHaveLength(1);
      // Released: another rollout can take the same stations.
      const next = await createRollout(ctx(a, ALICE), { tcUri: NEW, station: euis });
      expect(next.progress.totals.pending).toBe(2);
      await controlRollout(ctx(a, ALICE), next.rollout.id, 'abort');
    });

    it('two replicas approving at once: exactly one approval is written', async () => {
      await fleet('A4', 1, 'race');
      for (let round = 0; round < 3; round++) {
        const { rollout } = await createRollout(ctx(a, ALICE), { tcUri: NEW, label: ['group=race'], requireApproval: true });
        // On PostgreSQL both really run at once; two SQLite connections in one process cannot
        // (the driver is synchronous), so there the second decides after the first commits.
        const decide = [() => decideRollout(ctx(a, BOB), rollout.id, 'approve'), () => decideRollout(ctx(b, CAROL), rollout.id, 'approve')];
        const outcomes: PromiseSettledResult<unknown>[] = [];
        if (driver.name.startsWith('PostgreSQL')) outcomes.push(...(await Promise.allSettled(decide.map((d) => d()))));
        else for (const d of decide) outcomes.push(...(await Promise.allSettled([d()])));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
        expect(lost.reason).toMatchObject({ code: 'rollout_not_waiting' });
        expect(await events(rollout.id, 'approved')).toHaveLength(1);
        expect((await a.access.queryAudit({ action: 'rollout.approve', target: rollout.id, limit: 10 })).items).toHaveLength(1);
        await controlRollout(ctx(a, ALICE), rollout.id, 'abort');
      }
    });

    it('--pause-after-wave stops after each wave passes its gate until resumed', async () => {
      const euis = await fleet('A5', 3, 'pause');
      const { rollout } = await createRollout(ctx(a, ALICE), { healthSoak: '0', tcUri: NEW, label: ['group=pause'], waves: '1,100%', pauseAfterWave: true, deadline: '1h' });
      await engine(a);
      const first = (await showRollout(ctx(a, ALICE), rollout.id)).members.find((m) => m.state === 'offered');
      expect(first).toBeDefined();
      now += 60_000;
      await report(first!.eui, NEW);
      await engine(a);
      const paused = await showRollout(ctx(a, ALICE), rollout.id);
      expect(paused.rollout.state).toBe('paused');
      expect(paused.progress.gate).toContain('--pause-after-wave');
      // Paused: the engine offers nothing more however often it runs.
      now += 3_600_000;
      await engine(a);
      await engine(b);
      expect((await showRollout(ctx(a, ALICE), rollout.id)).members.filter((m) => m.state === 'offered')).toHaveLength(0);
      await controlRollout(ctx(a, BOB), rollout.id, 'resume');
      await engine(a);
      const resumed = await showRollout(ctx(a, ALICE), rollout.id);
      expect(resumed.rollout.wave).toBe(2);
      expect(resumed.members.filter((m) => m.state === 'offered')).toHaveLength(2);
      for (const eui of euis) await report(eui, NEW);
      await engine(a);
      // The last wave passing completes the rollout; there is no next wave to pause before.
      expect((await showRollout(ctx(a, ALICE), rollout.id)).rollout.state).toBe('completed');
    });

    it('--max-offers-per-minute paces offers across replicas', async () => {
      await fleet('A6', 5, 'pace');
      const { rollout, pacing } = await createRollout(ctx(a, ALICE), { healthSoak: '0', tcUri: NEW, label: ['group=pace'], waves: '100%', maxOffersPerMinute: 2, deadline: '1h' });
      expect(pacing.maxOffersPerMinute).toBe(2);
      const offered = async () => (await showRollout(ctx(a, ALICE), rollout.id)).members.filter((m) => m.offeredAt !== null).length;
      await engine(a);
      await engine(b);
      expect(await offered()).toBe(2);
      now += 30_000;
      await engine(b);
      expect(await offered()).toBe(2);
      now += 31_000;
      await engine(a);
      await engine(b);
      expect(await offered()).toBe(4);
      now += 61_000;
      await engine(b);
      expect(await offered()).toBe(5);
    });

    it('retry offers the change again to failed members, under the same gates, and keeps what rollback restores', async () => {
      const euis = await fleet('A7', 2, 'retry');
      const { rollout } = await createRollout(ctx(a, ALICE), { healthSoak: '0', tcUri: NEW, label: ['group=retry'], waves: '100%', deadline: '10m', failureBudget: '1' });
      await engine(a);
      // Both call again after the deadline still on the old LNS: failed, over the budget of 1, which halts the rollout.
      now += 11 * 60_000;
      for (const eui of euis) await report(eui, OLD);
      await engine(a);
      const halted = await showRollout(ctx(a, ALICE), rollout.id);
      expect(halted.rollout.state).toBe('halted');
      expect(halted.members.every((m) => m.state === 'failed')).toBe(true);

      await expect(retryRollout(ctx(a, BOB), rollout.id, { station: ['00000000000000AA'] })).rejects.toMatchObject({ code: 'not_failed' });
      const r = await retryRollout(ctx(a, BOB), rollout.id, { station: [euis[0]!] });
      expect(r.retried).toEqual([euis[0]]);
      expect(r.rollout.state).toBe('running');
      await engine(a);
      const again = await showRollout(ctx(a, ALICE), rollout.id);
      const m0 = again.members.find((m) => m.eui === euis[0]);
      expect(m0?.state).toBe('offered');
      expect(m0?.previous?.tcUri).toBe(OLD);
      expect(again.events.filter((e) => e.type === 'offered' && e.eui === euis[0])).toHaveLength(2);
      expect((await a.access.queryAudit({ action: 'rollout.retry', target: rollout.id, limit: 10 })).items).toHaveLength(1);

      // One failure is within the budget: the rollout runs. The second one too, then both
      // confirm: the wave is judged on the retried offers and passes.
      await retryRollout(ctx(a, BOB), rollout.id);
      await engine(a);
      now += 60_000;
      for (const eui of euis) await report(eui, NEW);
      await engine(a);
      expect((await showRollout(ctx(a, ALICE), rollout.id)).rollout.state).toBe('completed');
      await expect(retryRollout(ctx(a, BOB), rollout.id)).rejects.toMatchObject({ code: 'nothing_to_retry' });
    });
  });
}
