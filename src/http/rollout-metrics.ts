import { Gauge, type Registry } from 'prom-client';
import type { RolloutStore } from '../registry/index.js';

/**
 * Rollout gauges for Prometheus: stations of every active rollout by member
 * state, and the active rollouts by state (a halted one is what an alert wants).
 * One query per `ttlMs` however often it is scraped; finished rollouts drop out
 * so the label set stays bounded.
 */
export function registerRolloutGauges(registry: Registry, store: Pick<RolloutStore, 'countMembers'>, ttlMs = 5_000, now: () => number = Date.now): void {
  let cached: { at: number; value: ReturnType<RolloutStore['countMembers']> } | undefined;
  const counts = () => {
    if (cached === undefined || now() - cached.at >= ttlMs) cached = { at: now(), value: store.countMembers().catch(() => []) };
    return cached.value;
  };
  new Gauge({
    name: 'bscups_rollout_stations',
    help: 'stations of each active rollout by state (pending, offered, soaking, confirmed, failed, skipped, reverted); soaking: offered, the change delivered, its health soak running (not counted in offered, so the states add up to the members)',
    labelNames: ['rollout', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await counts()) this.set({ rollout: c.rollout, state: c.state }, c.count);
    },
  });
  new Gauge({
    name: 'bscups_rollouts_active',
    help: '1 for every active rollout, labelled with its state (scheduled, running, paused, halted)',
    labelNames: ['rollout', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await counts()) this.set({ rollout: c.rollout, state: c.rolloutState }, 1);
    },
  });
}
