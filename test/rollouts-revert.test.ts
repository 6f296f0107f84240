import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rolloutJson, memberJson } from '../src/http/admin/rollout-views.js';
import { localActor } from '../src/operations/context.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { advanceRollouts } from '../src/operations/rollout-engine.js';
import { controlRollout, createRollout, getRollout, showRollout } from '../src/operations/rollouts.js';
import { registryDrivers } from './support/registry-drivers.js';
import { exchange, stationAppPerTest } from './support/station-app.js';
import { stationRequest } from './support/tls-client.js';

// Automatic revert in rollouts (--revert-unhealthy), through the real station
// route and the rollout engine on every registry driver, with one injected
// clock: a member that fails gets what it had before at its next exchange and
// is recorded as reverted once it reports it; for firmware the previous package
// is offered back when the library has it signed for the station's key, and the
// rollout halts, saying why, when it has not.

const OLD = 'wss://lns.example.com:8887';
const TYPO = 'wss://lns.example.com:8878';
const KEY = 0x1234abcd;
const T0 = Date.parse('2026-03-02T12:04:00Z');
const H = 3_600_000;
const D = 24 * H;

const drivers = (await registryDrivers('automatic revert in rollouts')).filter((d) => d.name !== 'SQLite :memory:');

let now = T0;
const clock = () => new Date(now);

interface Answer {
  readonly tcUri?: string;
  readonly updateLength: number;
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`rollout revert on ${driver.name}`, () => {
    const stationApp = stationAppPerTest(driver, clock);

    async function open(euis: readonly string[]) {
      now = T0;
      const { stores: s, app, blobs } = await stationApp.open(euis.map((eui) => ({ eui, tcUri: OLD })));
      const ctx: RolloutContext = { ...s, blobs, clock, actor: localActor() };
      const poll = async (eui: string, at: number, report: { tcUri?: string; package?: string } = {}): Promise<Answer> => {
        now = at;
        const answer = await exchange(app, stationRequest(eui, { tcUri: report.tcUri ?? OLD, package: report.package ?? '1.0.0', model: 'linux', keys: [KEY] }));
        return { ...(answer.tcUri === null ? {} : { tcUri: answer.tcUri }), updateLength: answer.update?.length ?? 0 };
      };
      const engine = async (at: number) => {
        now = at;
        await advanceRollouts({ rollouts: s.rollouts, fleet: s.fleet, clock }, (id, e) => {
          throw new Error(`rollout ${id}: ${String(e)}`);
        });
      };
      /** A library entry with a placeholder signature by KEY (the station checks it, not the server). */
      const library = async (pkg: string) => {
        const bytes = Buffer.from(`#!/bin/sh\necho ${pkg} > "$STATION_HOME/version.txt"\n`);
        await blobs.put('fwupgrades', `fw-${pkg}`, bytes, { size: bytes.length });
        await s.rollouts.addPackage({ package: pkg, blob: `fw-${pkg}`, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), signatures: [{ keyCrc: KEY, signature: Buffer.from('3006020101020101', 'hex').toString('base64') }], models: [], createdBy: 't' }, clock());
      };
      return { s, ctx, poll, engine, library };
    }

    it('TC URI rollout (revert on by default): a member that fails is set back to its old TC URI, reverted once it reports it, then healthy; the others keep the change', async () => {
      const [OK, LOST] = ['0016C001FF10F101', '0016C001FF10F102'];
      const { s, ctx, poll, engine } = await open([OK, LOST]);
      for (const eui of [OK, LOST]) {
        await poll(eui, T0);
        await poll(eui, T0 + D);
      }
      now = T0 + D + 1000;
      const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: TYPO, station: [OK, LOST], waves: '100%', deadline: '1h', failureBudget: '1', successThreshold: '50%' });
      expect(rollout.plan.revertUnhealthy).toBe(true);
      await engine(T0 + D + 2000);
      expect((await poll(OK, T0 + D + 3000)).tcUri).toBe(TYPO);
      await poll(OK, T0 + D + 4000, { tcUri: TYPO });
      await engine(T0 + D + 5000);
      // LOST does not call before its deadline: it fails, and its old TC URI is set back at once.
      await engine(T0 + D + 2000 + H + 1000);
      const failed = await showRollout(ctx, rollout.id);
      const lost = failed.members.find((m) => m.eui === LOST);
      expect(lost).toMatchObject({ state: 'failed', revert: { state: 'reverting', reason: `TC URI set back to ${OLD}, delivered at the station's next exchange` } });
      expect(failed.reverts).toEqual({ reverting: 1, reverted: 0, refused: 0 });
      expect((await s.registry.getStation(LOST))?.desired.tcUri).toBe(OLD);
      expect((await s.registry.getStation(OK))?.desired.tcUri).toBe(TYPO);
      // Its next exchange gets nothing new: it has what it had before; the next evaluation records it.
      expect((await poll(LOST, T0 + 2 * D)).tcUri).toBeUndefined();
      await engine(T0 + 2 * D + 1000);
      const done = await getRollout(ctx, rollout.id);
      expect(done.reverts).toEqual({ reverting: 0, reverted: 1, refused: 0 });
      expect(rolloutJson(done).reverts).toEqual({ reverting: 0, reverted: 1, refused: 0 });
      const m = (await s.rollouts.listMembers(rollout.id)).find((x) => x.eui === LOST);
      expect(memberJson(m!).revert).toMatchObject({ state: 'reverted', reason: `reports TC URI ${OLD} again` });
      const events = (await s.rollouts.listRolloutEvents(rollout.id)).filter((e) => e.eui === LOST).map((e) => e.type);
      expect(events).toEqual(expect.arrayContaining(['failed', 'reverting', 'reverted']));
      // Audited with the engine's step that set it back.
      const steps = (await s.access.queryAudit({ action: 'rollout.step', limit: 50 })).items;
      expect(steps.some((a) => (a.detail?.['reverts'] as Record<string, unknown> | undefined)?.[LOST] !== undefined)).toBe(true);
      await poll(LOST, T0 + 3 * D);
      expect((await s.registry.getStation(LOST))?.health?.state).toBe('healthy');
    });

    it('firmware with --revert-unhealthy: the previous package from the library is offered back; without it in the library the rollout halts with why', async () => {
      const [FW, GONE] = ['0016C001FF10F201', '0016C001FF10F202'];
      const { s, ctx, poll, engine, library } = await open([FW, GONE]);
      await library('1.0.0');
      await library('2.0.0');
      await poll(FW, T0);
      await poll(GONE, T0, { package: '0.9.0' });
      now = T0 + 1000;
      // --no-revert-unhealthy is the default for firmware.
      expect((await createRollout(ctx, { firmware: '2.0.0', station: [FW], waves: '100%', deadline: '1h' })).rollout.plan.revertUnhealthy).toBe(false);
      const first = (await s.rollouts.listRollouts())[0]!;
      await s.rollouts.applyStep(first, { members: [], rollout: { state: 'aborted' }, events: [] }, clock());

      const { rollout } = await createRollout(ctx, { firmware: '2.0.0', station: [FW], waves: '100%', deadline: '1h', revertUnhealthy: true });
      await engine(T0 + 2000);
      expect((await poll(FW, T0 + 3000)).updateLength).toBeGreaterThan(0);
      // The update ran but wrote another version: never confirmed.
      await poll(FW, T0 + 4000, { package: '2.0.0-rc' });
      await engine(T0 + H + 5000);
      const failed = (await s.rollouts.listMembers(rollout.id))[0]!;
      expect(failed).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^not confirmed within the deadline: still reports package 2\.0\.0-rc/), revert: { state: 'reverting' } });
      expect((await s.registry.getStation(FW))?.firmware).toMatchObject({ package: '1.0.0', fromPackage: '2.0.0' });
      // Its next exchange gets package 1.0.0; once it reports it, reverted.
      expect((await poll(FW, T0 + H + 6000, { package: '2.0.0-rc' })).updateLength).toBeGreaterThan(0);
      await poll(FW, T0 + H + 7000, { package: '1.0.0' });
      await engine(T0 + H + 8000);
      expect((await s.rollouts.listMembers(rollout.id))[0]?.revert).toMatchObject({ state: 'reverted', reason: 'reports package 1.0.0 again' });

      // A station whose previous package is not in the library: failed, not reverted, the rollout halted.
      now = T0 + H + 9000;
      const refused = await createRollout(ctx, { firmware: '2.0.0', station: [GONE], waves: '100%', deadline: '1h', failureBudget: '5', successThreshold: '0', revertUnhealthy: true });
      await engine(T0 + H + 10_000);
      await poll(GONE, T0 + H + 11_000, { package: '0.9.0' });
      await poll(GONE, T0 + H + 12_000, { package: '2.0.0-rc' });
      await engine(T0 + 2 * H + 13_000);
      const halted = await getRollout(ctx, refused.rollout.id);
      expect(halted.rollout.state).toBe('halted');
      expect(halted.rollout.haltReason).toBe(`station ${GONE} failed and cannot be reverted: its previous package 0.9.0 is not in the firmware library: upload it (bscups firmware upload --package 0.9.0 …), then roll back`);
      expect(halted.reverts).toEqual({ reverting: 0, reverted: 0, refused: 1 });
    });

    it('refuses --revert-unhealthy where it cannot work', async () => {
      const { ctx } = await open(['0016C001FF10F301']);
      await expect(createRollout(ctx, { cupsUri: 'https://cups2.example.com:443', station: ['0016C001FF10F301'], revertUnhealthy: true })).rejects.toMatchObject({ code: 'revert_not_supported' });
      for (const rotate of ['cups', 'both']) {
        await expect(createRollout(ctx, { rotate, station: ['0016C001FF10F301'], revertUnhealthy: true })).rejects.toMatchObject({
          code: 'revert_not_supported',
          message: expect.stringMatching(/a station given a CUPS credential it cannot use never calls this server again \(rotate tc alone/),
        });
      }
      // A TC credential rotation reverts by default, like a TC URI change; CUPS credentials do not.
      const tc = await createRollout(ctx, { rotate: 'tc', station: ['0016C001FF10F301'] });
      expect(tc.rollout.plan.revertUnhealthy).toBe(true);
      await controlRollout(ctx, tc.rollout.id, 'abort');
      expect((await createRollout(ctx, { rotate: 'cups', station: ['0016C001FF10F301'] })).rollout.plan.revertUnhealthy).toBeFalsy();
    });
  });
}
