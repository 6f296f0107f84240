import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DEFAULT_HEALTH } from '../src/core/health.js';
import { isCupsError } from '../src/core/errors.js';
import { auditRow, SERVER_ACTOR } from '../src/operations/context.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { advanceRollout, type AdvanceOutcome } from '../src/operations/rollout-engine.js';
import { controlRollout, createRollout, getRollout, listRollouts, showRollout } from '../src/operations/rollouts.js';
import { listAudit } from '../src/operations/audit.js';
import { registerStation } from '../src/operations/stations.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { registryDrivers, type Store } from './support/registry-drivers.js';
import { operationContext } from './support/rollout-fleet.js';

// Scheduled starts and time windows on a simulated fleet, with an injected
// clock stepped through two days in engine ticks of 10 minutes: stations call
// once a day at their own time of day (PROTOCOL.md 8), as the registry records
// a call (last seen, reported state, health). Two runtimes on one database stand
// for two replicas; at every tick both evaluate the rollout as read, and only
// one step may be written. On PostgreSQL they really run at once; two SQLite
// connections in one process cannot (see rollout-engine-race.test.ts), so there
// they run one after the other from the same stale read.
const drivers = (await registryDrivers('rollout schedules and windows')).filter((d) => d.shared && d.options === undefined);

const OLD = 'ws://127.0.0.1:7100';
const NEW = 'ws://127.0.0.1:7200';
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** A station that calls every day at `at` (ms after midnight UTC), reports the TC URI it holds, and takes the one it is answered. */
interface Caller {
  readonly eui: string;
  readonly at: number;
  tcUri: string;
  lastCall: Date | null;
}

for (const driver of drivers) {
  const concurrent = driver.name.startsWith('PostgreSQL');
  describe.skipIf(driver.skip)(`rollout schedules and windows on ${driver.name}`, () => {
    let store: Store;
    let a: Runtime;
    let b: Runtime;
    let now: Date;
    let ctx: RolloutContext;
    const clock = () => now;

    beforeAll(async () => {
      driver.setup?.();
      store = await driver.fresh();
      a = await openRuntime(loadConfig({ database: store.url, blobs: 'memory:' }));
      b = await openRuntime(loadConfig({ database: store.url, blobs: 'memory:' }));
      ctx = { ...operationContext(a), clock };
      await a.webhooks.addWebhook({ id: 'wh-sched', url: 'http://127.0.0.1:9/hook', events: ['rollout.scheduled'], secret: null, format: 'json' }, new Date(), auditRow(SERVER_ACTOR, new Date(), 'webhook.add', null));
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await store?.dispose();
      driver.teardown?.();
    });

    async function fleet(prefix: string, times: readonly number[], label: string): Promise<Caller[]> {
      const out: Caller[] = [];
      for (const [i, at] of times.entries()) {
        const eui = `${prefix}${String(i + 1).padStart(2, '0')}`;
        await registerStation(ctx, { eui, labels: { fleet: label }, tcUri: OLD });
        out.push({ eui, at, tcUri: OLD, lastCall: null });
      }
      return out;
    }

    /** The station's exchange: what update-info records, at the injected time; it then holds the desired TC URI. */
    async function call(s: Caller, at: Date): Promise<void> {
      await a.registry.recordExchange(s.eui, {
        at,
        remoteAddress: null,
        reported: { cupsUri: null, tcUri: s.tcUri, cupsCredCrc: 0, tcCredCrc: 0, station: '2.0.6', model: 'linux', package: '1.0.0', keys: [] },
        events: [],
        health: { thresholds: DEFAULT_HEALTH, callsAgain: false, previousSeenAt: s.lastCall, hasTc: true },
      });
      s.lastCall = at;
      s.tcUri = (await a.registry.getStation(s.eui))?.desired.tcUri ?? s.tcUri;
    }

    /** Both replicas evaluate the rollout from the same read; returns what each did. */
    async function tick(id: string): Promise<AdvanceOutcome[]> {
      const seen = await a.rollouts.getRollout(id);
      const deps = (rt: Runtime) => ({ rollouts: rt.rollouts, fleet: rt.fleet, clock });
      const run = [() => advanceRollout(deps(a), seen!), () => advanceRollout(deps(b), seen!)];
      if (concurrent) return Promise.all(run.map((r) => r()));
      const out: AdvanceOutcome[] = [];
      for (const r of run) out.push(await r());
      return out;
    }

    /** Steps the clock to `until` in 10-minute ticks: the stations due call, then both replicas evaluate. */
    async function runUntil(id: string, stations: Caller[], until: Date, each?: (outcomes: AdvanceOutcome[]) => void): Promise<void> {
      while (now < until) {
        const next = new Date(now.getTime() + 10 * MIN);
        for (const s of stations) {
          for (let day = Math.floor(now.getTime() / DAY); day <= Math.floor(next.getTime() / DAY); day++) {
            const t = day * DAY + s.at;
            if (t > now.getTime() && t <= next.getTime()) await call(s, new Date(t));
          }
        }
        now = next;
        const outcomes = await tick(id);
        expect(outcomes.filter((o) => o === 'advanced').length, `at ${now.toISOString()}: ${outcomes.join(', ')}`).toBeLessThanOrEqual(1);
        each?.(outcomes);
      }
    }

    it('starts at its time once, offers only inside its windows, and lists the stations that never call in one', async () => {
      // Calls, UTC: 00:30, 02:00, 03:50 fall in Mon-Fri 01:00-05:00 Berlin (00:00-04:00 UTC in December);
      // 12:00 and 23:30 (00:30 Berlin) never do.
      now = new Date('2026-12-05T00:00:00Z'); // Saturday: the stations call for two days before the rollout
      const stations = await fleet('00000000005C00', [30 * MIN, 2 * HOUR, 3 * HOUR + 50 * MIN, 12 * HOUR, 23 * HOUR + 30 * MIN], 'sched');
      for (const day of [0, 1]) for (const s of stations) await call(s, new Date(now.getTime() + day * DAY + s.at));
      now = new Date('2026-12-06T20:00:00Z'); // Sunday evening

      const created = await createRollout(ctx, { healthSoak: '0', tcUri: NEW, label: ['fleet=sched'], waves: '100%', deadline: '30h', startAt: '3h', window: ['Mon-Fri 01:00-05:00 Europe/Berlin'] });
      const id = created.rollout.id;
      expect(created.rollout.state).toBe('scheduled');
      expect(created.rollout.plan).toMatchObject({ startAt: '2026-12-06T23:00:00.000Z', windows: ['Mon-Fri 01:00-05:00 Europe/Berlin'] });
      expect(created.progress.gate).toMatch(/^scheduled: starts at 2026-12-06T23:00:00.000Z; offers only in its windows/);
      // The first wave's offers wait for the window that opens Monday 00:00 UTC; then a healthy station's
      // regular interval (24 h, shorter than the 30 h deadline) for the change to reach it, as nothing passed yet.
      expect(created.progress.eta?.toISOString()).toBe('2026-12-08T00:00:00.000Z');
      expect((await listRollouts(ctx, { states: ['scheduled'] })).items.map((v) => v.rollout.id)).toEqual([id]);
      // Queued for webhooks in the creating transaction.
      expect((await a.webhooks.listDeliveries({ limit: 10 })).map((d) => d.eventType)).toEqual(['rollout.scheduled']);

      // Sunday 23:00 UTC: started, exactly once, by one replica; midnight in Berlin is outside the window: no offers.
      const starts: AdvanceOutcome[][] = [];
      await runUntil(id, stations, new Date('2026-12-06T23:00:00Z'), (o) => starts.push(o));
      expect(starts.slice(0, -1).flat().every((o) => o === 'idle')).toBe(true);
      expect(starts.at(-1)?.sort()).toEqual(['advanced', 'superseded']);
      let shown = await showRollout(ctx, id);
      expect(shown.rollout.state).toBe('running');
      expect(shown.members.map((m) => m.state)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending']);
      expect(shown.progress.gate).toContain('outside its windows: no offers until 2026-12-07T00:00:00.000Z');

      // Monday: the window opens at 00:00 UTC (once: one step offers all five), closes at 04:00 UTC.
      await runUntil(id, stations, new Date('2026-12-07T00:00:00Z'));
      shown = await showRollout(ctx, id);
      expect(shown.members.every((m) => m.state === 'offered')).toBe(true);
      await runUntil(id, stations, new Date('2026-12-07T06:00:00Z'));
      shown = await showRollout(ctx, id);
      expect(shown.members.map((m) => [m.eui.slice(-2), m.state])).toEqual([['01', 'offered'], ['02', 'offered'], ['03', 'offered'], ['04', 'pending'], ['05', 'pending']]);
      expect(shown.members[3]?.reason).toMatch(/window closed before the station called/);
      // The two that call outside it were not sent the change.
      expect((await a.registry.getStation(stations[3]!.eui))?.desired.tcUri).toBe(OLD);
      expect(stations.map((s) => s.tcUri)).toEqual([NEW, NEW, NEW, OLD, OLD]);
      expect(shown.outsideWindows).toMatchObject({ count: 2, members: [{ eui: stations[3]!.eui, usualCallTime: '13:00', zone: 'Europe/Berlin' }, { eui: stations[4]!.eui, usualCallTime: '00:30' }] });
      expect(shown.progress.gate).toContain('2 pending station(s) call only outside its windows');
      expect((await getRollout(ctx, id)).outsideWindows?.count).toBe(2);

      // Tuesday: the three report the new URI at their next call and confirm; the other two are offered and taken back again.
      await runUntil(id, stations, new Date('2026-12-08T06:00:00Z'));
      shown = await showRollout(ctx, id);
      expect(shown.members.map((m) => m.state)).toEqual(['confirmed', 'confirmed', 'confirmed', 'pending', 'pending']);

      // The log: one start, each window opening offered once, each closing withdrew once.
      const types = (t: string, eui?: string) => shown.events.filter((e) => e.type === t && (eui === undefined || e.eui === eui)).length;
      expect(types('started')).toBe(1);
      expect(stations.map((s) => types('offered', s.eui))).toEqual([1, 1, 1, 2, 2]);
      expect(stations.map((s) => types('reverted', s.eui))).toEqual([0, 0, 0, 2, 2]);
      const steps = (await listAudit(ctx, { action: 'rollout.step', target: id, limit: 100 })).items;
      expect(steps.filter((e) => (e.detail as { state?: string }).state === 'running')).toHaveLength(1);
      expect(steps.filter((e) => ((e.detail as { offered: string[] }).offered ?? []).length > 0)).toHaveLength(2);

      await controlRollout(ctx, id, 'abort');
      expect((await getRollout(ctx, id)).rollout.state).toBe('aborted');
    });

    it('a scheduled rollout is aborted before it starts, and never starts', async () => {
      now = new Date('2026-12-10T10:00:00Z');
      const stations = await fleet('00000000005D00', [HOUR], 'abort');
      for (const s of stations) await call(s, new Date('2026-12-10T01:00:00Z'));
      const { rollout } = await createRollout(ctx, { tcUri: NEW, label: ['fleet=abort'], startAt: '2026-12-10T12:00:00+01:00' });
      expect(rollout.state).toBe('scheduled');
      const aborted = await controlRollout(ctx, rollout.id, 'abort');
      expect(aborted.rollout.state).toBe('aborted');
      await runUntil(rollout.id, stations, new Date('2026-12-10T14:00:00Z'));
      const shown = await showRollout(ctx, rollout.id);
      expect(shown.rollout.state).toBe('aborted');
      expect(shown.events.map((e) => e.type)).toEqual(['created', 'aborted']);
      expect((await a.rollouts.claims([stations[0]!.eui])).size).toBe(0);
    });

    it('refuses a start in the past and a window it cannot read, creating nothing', async () => {
      now = new Date('2026-12-11T10:00:00Z');
      await fleet('00000000005E00', [HOUR], 'bad');
      const before = (await listRollouts(ctx, {})).items.length;
      for (const input of [{ startAt: '2026-12-11T09:00Z' }, { window: ['weekdays 01:00-05:00 Europe/Berlin'] }, { window: ['Mon-Fri 01:00-05:00'] }]) {
        const e = await createRollout(ctx, { tcUri: NEW, label: ['fleet=bad'], ...input }).catch((x: unknown) => x);
        expect(isCupsError(e) && e.kind === 'invalid_argument', JSON.stringify(input)).toBe(true);
      }
      expect((await listRollouts(ctx, {})).items.length).toBe(before);
    });

    it('a window across the night clocks go forward in Berlin closes an hour earlier in UTC', async () => {
      // Sunday 28 March 2027: 02:00 CET becomes 03:00 CEST. The window Sun 01:00-05:00 Berlin is 00:00-03:00 UTC
      // that night (a week before: 00:00-04:00). A station calling at 03:30 UTC was inside it the Sunday before;
      // on this one its offer is taken back at 03:00 UTC, before it calls.
      now = new Date('2027-03-27T12:00:00Z');
      const stations = await fleet('00000000005F00', [3 * HOUR + 30 * MIN], 'dst');
      await call(stations[0]!, new Date('2027-03-27T03:30:00Z'));
      const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: NEW, label: ['fleet=dst'], waves: '100%', window: ['Sun 01:00-05:00 Europe/Berlin'] });
      expect(rollout.state).toBe('running');
      await runUntil(rollout.id, stations, new Date('2027-03-28T06:00:00Z'));
      const shown = await showRollout(ctx, rollout.id);
      const at = (t: string) => shown.events.filter((e) => e.type === t).map((e) => e.at.toISOString());
      expect(at('offered')).toEqual(['2027-03-28T00:00:00.000Z']);
      expect(at('reverted')).toEqual(['2027-03-28T03:00:00.000Z']);
      expect(stations[0]!.tcUri).toBe(OLD);
      expect(shown.members[0]?.state).toBe('pending');
      // 03:30 UTC is 05:30 in Berlin now: outside the window every Sunday from here on.
      expect(shown.outsideWindows?.members.map((m) => m.usualCallTime)).toEqual(['05:30']);
    });
  });
}
