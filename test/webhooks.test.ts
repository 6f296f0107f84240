import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { startNoticeSweep, type NoticeSweep, type NoticeSweepOptions } from '../src/operations/notice-sweep.js';
import { createCa, issueServerCert } from '../src/pki/index.js';
import { createRollout, rollbackRollout } from '../src/operations/rollouts.js';
import { DEFAULT_HEALTH, type HealthThresholds } from '../src/core/health.js';
import { deliveryBody } from '../src/http/webhook-send.js';
import { startWebhookWorker, type WebhookWorker } from '../src/http/webhook-worker.js';
import { advanceRollout } from '../src/operations/rollout-engine.js';
import { auditRow, SERVER_ACTOR } from '../src/operations/context.js';
import { createRegistryStores, type RegistryStores } from '../src/registry/index.js';
import { registryDrivers, type Store } from './support/registry-drivers.js';

const drivers = (await registryDrivers('webhooks')).filter((d) => d.shared && d.options === undefined);

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A real receiver on 127.0.0.1: answers each POST with the next status of `answers` (then 200). */
async function receiver(answers: number[] = []): Promise<{ url: string; got: Received[]; next(): Promise<Received>; close(): Promise<void>; server: Server }> {
  const got: Received[] = [];
  const waiting: ((r: Received) => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      got.push(r);
      const status = answers.shift() ?? 200;
      if (status >= 300 && status < 400) res.setHeader('location', `http://127.0.0.1:${(server.address() as AddressInfo).port}/elsewhere`);
      res.statusCode = status;
      res.end('ok');
      waiting.shift()?.(r);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    server,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a user's receiver does: recompute the HMAC of the raw body and compare in constant time. */
function verify(secret: string, r: Received): boolean {
  const header = String(r.headers['x-bscups-signature'] ?? '');
  const expected = `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`;
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

describe.each(drivers)('webhooks on $name', (driver) => {
  let store: Store;
  let stores: RegistryStores;
  let now: number;
  const clock = (): Date => new Date(now);
  const workers: WebhookWorker[] = [];
  const worker = (over: Partial<Parameters<typeof startWebhookWorker>[0]> = {}, s: RegistryStores = stores): WebhookWorker => {
    const w = startWebhookWorker(
      { store: s.webhooks, clock, logger: { warn: () => undefined, info: () => undefined, error: () => undefined }, intervalMs: 60_000, timeoutMs: 2000, disableAfter: 20, firstRetryMs: 10_000, maxBackoffMs: 3_600_000, retryForMs: 25 * 3_600_000, ...over },
      false,
    );
    workers.push(w);
    return w;
  };
  const add = (url: string, events: string[] | 'all', secret: string | null = 's3cret', format: 'json' | 'slack' = 'json') =>
    stores.webhooks.addWebhook({ id: `wh-${Math.random().toString(36).slice(2, 8)}`, url, events, secret, format }, clock(), auditRow(SERVER_ACTOR, clock(), 'webhook.add', null));

  beforeEach(async () => {
    driver.setup?.();
    now = Date.parse('2026-12-07T12:00:00Z');
    store = await driver.fresh();
    stores = await createRegistryStores(store.url, { now: clock });
    await stores.registry.migrate();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await stores.registry.close();
    await store.dispose();
    driver.teardown?.();
  });

  it('delivers a signed event for an unknown station and a compromised token, each to its subscribers only', async () => {
    const rx = await receiver();
    try {
      const hook = await add(rx.url, ['station.unknown_first_seen', 'token.compromised']);
      await add(rx.url, ['rollout.halted']);
      expect(hook.secret).toBe('set');
      await stores.registry.recordUnknown('0000000000000099', { at: clock(), remoteAddress: '192.0.2.7', request: {} });
      // A second knock is not a first sighting.
      await stores.registry.recordUnknown('0000000000000099', { at: clock(), remoteAddress: '192.0.2.7', request: {} });
      await stores.registry.createStation({ eui: '0000000000000001' });
      await stores.registry.addToken('0000000000000001', { id: 'tok1', hash: 'a'.repeat(64), category: 'cups', credCrc: 1 }, clock());
      await stores.registry.markTokenCompromised('tok1', 'sent over http', clock());
      expect(await worker().runOnce()).toBe(2);
      expect(rx.got).toHaveLength(2);
      for (const r of rx.got) {
        expect(verify('s3cret', r)).toBe(true);
        expect(verify('wrong', r)).toBe(false);
        expect(r.body).not.toContain('a'.repeat(64));
        expect(r.headers['x-bscups-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      }
      const bodies = rx.got.map((r) => JSON.parse(r.body) as { id: string; type: string; time: string; data: Record<string, unknown> });
      const byType = new Map(bodies.map((b) => [b.type, b]));
      expect(byType.get('station.unknown_first_seen')?.data).toEqual({ station: { eui: '0000000000000099' }, remoteAddress: '192.0.2.7' });
      expect(byType.get('token.compromised')?.data).toMatchObject({ station: { eui: '0000000000000001' }, token: { id: 'tok1', category: 'cups' } });
      expect(rx.got.map((r) => r.headers['x-bscups-event']).sort()).toEqual(['station.unknown_first_seen', 'token.compromised']);
      expect(bodies[0]?.time).toBe('2026-12-07T12:00:00.000Z');
      const delivered = await stores.webhooks.listDeliveries({ limit: 10 });
      expect(delivered.map((d) => d.state)).toEqual(['delivered', 'delivered']);
    } finally {
      await rx.close();
    }
  });

  it('delivers a station health change (lns_failing) and a failed firmware upgrade from the exchanges that write them', async () => {
    const rx = await receiver();
    try {
      await add(rx.url, ['station.health_changed', 'firmware.upgrade_failed']);
      const eui = '0000000000000007';
      await stores.registry.createStation({ eui });
      const reported = { cupsUri: 'https://cups.example:443', tcUri: 'wss://lns.example:8887', cupsCredCrc: 1, tcCredCrc: 2, station: '2.0.6(rpi/std)', model: 'rpi', package: '1.0.0', keys: [] };
      const health = { thresholds: DEFAULT_HEALTH, callsAgain: false, previousSeenAt: null, hasTc: true };
      // Calls every 450 s: what a station does while its LNS link fails.
      for (let i = 0; i < 4; i++) await stores.registry.recordExchange(eui, { at: new Date(now + i * 450_000), remoteAddress: null, reported, events: [], health });
      await stores.registry.setFirmwareTarget(eui, { package: '2.0.0', blob: 'fw/2.0.0.bin', size: 10, sha256: 'ab'.repeat(32), signatures: [], maxOffers: 3, fromPackage: '1.0.0', requestedAt: clock() });
      await stores.registry.recordExchange(eui, { at: new Date(now + 2_000_000), remoteAddress: null, reported, events: [], firmware: { package: '2.0.0', state: 'failed', lastError: 'no change after 3 offers' } });
      now += 2_000_000;
      expect(await worker().runOnce()).toBe(2);
      const bodies = rx.got.map((r) => {
        expect(verify('s3cret', r)).toBe(true);
        return JSON.parse(r.body) as { type: string; data: Record<string, unknown> };
      });
      expect(bodies.find((b) => b.type === 'station.health_changed')?.data).toMatchObject({ station: { eui }, to: 'lns_failing' });
      expect(bodies.find((b) => b.type === 'firmware.upgrade_failed')?.data).toEqual({ station: { eui }, package: '2.0.0', error: 'no change after 3 offers' });
    } finally {
      await rx.close();
    }
  });

  it('delivers a rollout rolled back, with the rollout concerned', async () => {
    const rx = await receiver();
    try {
      await add(rx.url, ['rollout.rolled_back', 'rollout.completed', 'rollout.halted']);
      await stores.registry.createStation({ eui: '0000000000000008', labels: { site: 'north' } });
      const ctx = { ...stores, blobs: createMemoryBlobStore(), clock, actor: SERVER_ACTOR };
      const { rollout } = await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7300', label: ['site=north'], waves: '100%', deadline: '1h' });
      await rollbackRollout(ctx, rollout.id);
      expect(await worker().runOnce()).toBe(1);
      expect(verify('s3cret', rx.got[0]!)).toBe(true);
      expect(JSON.parse(rx.got[0]!.body)).toMatchObject({ type: 'rollout.rolled_back', data: { rollout: { id: rollout.id, state: 'rolled_back', change: 'tcUri' } } });
    } finally {
      await rx.close();
    }
  });

  it('delivers a rollout scheduled and a rollout waiting for approval, queued when each is created', async () => {
    const rx = await receiver();
    try {
      await add(rx.url, ['rollout.scheduled', 'rollout.waiting_for_approval']);
      await stores.registry.createStation({ eui: '0000000000000021', labels: { site: 'south' } });
      await stores.registry.createStation({ eui: '0000000000000022', labels: { site: 'dock' } });
      const ctx = { ...stores, blobs: createMemoryBlobStore(), clock, actor: SERVER_ACTOR };
      const later = (await createRollout(ctx, { tcUri: 'ws://127.0.0.1:7303', label: ['site=south'], startAt: '2h' })).rollout;
      const asks = (await createRollout(ctx, { tcUri: 'ws://127.0.0.1:7304', label: ['site=dock'], requireApproval: true })).rollout;
      expect([later.state, asks.state]).toEqual(['scheduled', 'waiting_for_approval']);
      expect(await worker().runOnce()).toBe(2);
      const bodies = rx.got.map((r) => {
        expect(verify('s3cret', r)).toBe(true);
        return JSON.parse(r.body) as { type: string; data: { rollout: Record<string, unknown> } };
      });
      expect(bodies.find((b) => b.type === 'rollout.scheduled')?.data.rollout).toMatchObject({ id: later.id, state: 'scheduled', change: 'tcUri' });
      expect(bodies.find((b) => b.type === 'rollout.waiting_for_approval')?.data.rollout).toMatchObject({ id: asks.id, state: 'waiting_for_approval', change: 'tcUri' });
    } finally {
      await rx.close();
    }
  });

  it('delivers a rollout completed and a rollout halted from the engine steps that write them', async () => {
    const rx = await receiver();
    try {
      await add(rx.url, ['rollout.completed', 'rollout.halted']);
      const ok = '0000000000000011';
      const late = '0000000000000012';
      await stores.registry.createStation({ eui: ok, labels: { site: 'east' } });
      await stores.registry.createStation({ eui: late, labels: { site: 'west' } });
      const ctx = { ...stores, blobs: createMemoryBlobStore(), clock, actor: SERVER_ACTOR };
      const deps = { rollouts: stores.rollouts, fleet: stores.fleet, clock };
      const reported = (tcUri: string) => ({ cupsUri: 'https://cups.example:443', tcUri, cupsCredCrc: 1, tcCredCrc: 2, station: '2.0.6(rpi/std)', model: 'rpi', package: '1.0.0', keys: [] });
      // Both have called before (a station never seen is skipped, not offered).
      for (const eui of [ok, late]) await stores.registry.recordExchange(eui, { at: clock(), remoteAddress: null, reported: reported('ws://127.0.0.1:7300'), events: [] });
      const done = (await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7301', label: ['site=east'], waves: '100%', deadline: '1h' })).rollout;
      const halts = (await createRollout(ctx, { healthSoak: '0', tcUri: 'ws://127.0.0.1:7302', label: ['site=west'], waves: '100%', deadline: '1m', failureBudget: '0' })).rollout;
      for (const r of [done, halts]) await advanceRollout(deps, (await stores.rollouts.getRollout(r.id))!);
      // One station takes its new TC URI; the other never calls, past its deadline.
      now += 30_000;
      await stores.registry.recordExchange(ok, { at: clock(), remoteAddress: null, reported: reported('ws://127.0.0.1:7301'), events: [] });
      now += 120_000;
      for (let i = 0; i < 3; i++) for (const r of [done, halts]) await advanceRollout(deps, (await stores.rollouts.getRollout(r.id))!);
      expect((await stores.rollouts.getRollout(done.id))?.state).toBe('completed');
      expect((await stores.rollouts.getRollout(halts.id))?.state).toBe('halted');
      expect(await worker().runOnce()).toBe(2);
      const bodies = rx.got.map((r) => {
        expect(verify('s3cret', r)).toBe(true);
        return JSON.parse(r.body) as { type: string; data: { rollout: Record<string, unknown> } };
      });
      expect(bodies.find((b) => b.type === 'rollout.completed')?.data.rollout).toMatchObject({ id: done.id, state: 'completed', change: 'tcUri' });
      expect(bodies.find((b) => b.type === 'rollout.halted')?.data.rollout).toMatchObject({ id: halts.id, state: 'halted', haltReason: expect.any(String) });
    } finally {
      await rx.close();
    }
  });

  describe('notices read off the clock', () => {
    // Shrunk so a silence takes seconds of the injected clock: a station calls every 10 s, silent 5 s past that.
    const health: HealthThresholds = { earlyMs: 1_000, earlyCount: 2, intervalMs: 10_000, graceMs: 5_000 };
    const sweeps: NoticeSweep[] = [];
    let pki: string;
    beforeEach(() => {
      pki = mkdtempSync(join(tmpdir(), 'bscups-notice-'));
    });
    afterEach(async () => {
      for (const w of sweeps.splice(0)) await w.stop();
      rmSync(pki, { recursive: true, force: true });
    });
    // Two replicas at once on PostgreSQL; in one process better-sqlite3 blocks the thread while a second connection waits for
    // the write lock, so there they take turns (as two SQLite processes would, the lock serialising them).
    const both = <T>(a: () => Promise<T>, b: () => Promise<T>): Promise<[T, T]> =>
      driver.name.includes('PostgreSQL') ? Promise.all([a(), b()]) : a().then(async (x) => [x, await b()]);
    const sweep = (s: RegistryStores = stores, files: NoticeSweepOptions['files'] = {}): NoticeSweep => {
      const w = startNoticeSweep({ store: s.webhooks, clock, health, files, logger: { warn: () => undefined, info: () => undefined } }, 60_000, false);
      sweeps.push(w);
      return w;
    };
    const call = (eui: string) => stores.registry.recordExchange(eui, { at: clock(), remoteAddress: null, reported: { cupsUri: 'https://cups.example:443', tcUri: 'wss://lns.example:8887', cupsCredCrc: 1, tcCredCrc: 2, station: '2.0.6(rpi/std)', model: 'rpi', package: '1.0.0', keys: [] }, events: [], health: { thresholds: health, callsAgain: false, previousSeenAt: null, hasTc: true } });
    type Body = { type: string; data: Record<string, unknown> & { station?: { eui: string }; from?: string; to?: string } };
    const bodies = (got: Received[]): Body[] =>
      got.map((r) => {
        expect(verify('s3cret', r)).toBe(true);
        return JSON.parse(r.body) as Body;
      });

    it('tells once that a station went silent (two replicas sweeping), then that it came back and is healthy again', async () => {
      const rx = await receiver([500]);
      try {
        await add(rx.url, ['station.health_changed']);
        const eui = '0000000000000021';
        await stores.registry.createStation({ eui });
        await call(eui);
        now += 10_000;
        await call(eui); // healthy: its regular 10 s
        now += 14_000;
        expect((await sweep().runOnce()).silent).toEqual([]);
        now += 2_000; // 16 s since its last call: silent
        const other = await createRegistryStores(store.url, { now: clock });
        try {
          const [a, b] = await both(sweep().runOnce, sweep(other).runOnce);
          expect(a.silent.length + b.silent.length).toBe(1);
          expect((await sweep(other).runOnce()).silent).toEqual([]);
        } finally {
          await other.registry.close();
        }
        now += 60_000;
        expect((await sweep().runOnce()).silent).toEqual([]);
        // The receiver answers the first attempt with 500; the retry after the back-off delivers it.
        const w = worker();
        expect(await w.runOnce()).toBe(2);
        now += 10_000;
        expect(await w.runOnce()).toBe(1);
        // Sent side by side: the one the receiver failed came again, the same body.
        expect(rx.got[2]?.body).toBe(rx.got[0]?.body);
        const [healthy, silent] = bodies([rx.got[0]!, rx.got[1]!]).sort((x, y) => String(x.data.to).localeCompare(String(y.data.to)));
        expect(healthy?.data).toMatchObject({ station: { eui }, from: 'unknown', to: 'healthy' });
        expect(silent?.data).toMatchObject({ station: { eui }, from: 'healthy', to: 'silent', reason: expect.stringContaining('not seen for') });
        expect((await stores.registry.listEvents(eui, { limit: 10 })).map((e) => e.message)).toContainEqual(expect.stringMatching(/^health healthy → silent: not seen for/));

        // Back: the exchange tells of its return; its next regular call makes it healthy again.
        await call(eui);
        now += 10_000;
        await call(eui);
        expect(await w.runOnce()).toBe(2);
        const back = bodies(rx.got.slice(3)).map((b) => [b.data.from, b.data.to]);
        expect(back).toEqual([['silent', 'unknown'], ['unknown', 'healthy']]);
        // Silent again later: told again, once.
        now += 20_000;
        expect((await sweep().runOnce()).silent.map((n) => n.eui)).toEqual([eui]);
        expect((await sweep().runOnce()).silent).toEqual([]);
      } finally {
        await rx.close();
      }
    });

    it('tells once per certificate and window that a station certificate, the server certificate or the station CA expires soon', async () => {
      const rx = await receiver();
      try {
        await add(rx.url, ['certificate.expiring']);
        const DAY = 86_400_000;
        // The certificates' own clock is the real one: the injected clock starts there.
        now = Date.now();
        const soon = '0000000000000031';
        const fresh = '0000000000000032';
        await stores.registry.createStation({ eui: soon });
        await stores.registry.createStation({ eui: fresh });
        await stores.registry.addCertificate(soon, { fingerprint: 'a1'.repeat(32), category: 'cups', credCrc: 7, notAfter: new Date(now + 40 * DAY) }, clock());
        // First seen 5 days before its end: told once (within 7 d), not also for 30 d.
        await stores.registry.addCertificate(fresh, { fingerprint: 'b2'.repeat(32), category: 'cups', credCrc: 8, notAfter: new Date(now + 5 * DAY) }, clock());
        const ca = await createCa({ validDays: 400 });
        const server = await issueServerCert(ca, { names: ['127.0.0.1'], validDays: 20 });
        const files = { server: join(pki, 'server.pem'), stationCa: join(pki, 'ca.pem') };
        writeFileSync(files.server, server.certPem);
        writeFileSync(files.stationCa, ca.certPem);
        const first = await sweep(stores, files).runOnce();
        expect(first.certificates.map((c) => [c.certificate.role, c.certificate.eui ?? null, c.windowMs / DAY]).sort()).toEqual([
          ['server', null, 30],
          ['station', fresh, 7],
        ]);
        const other = await createRegistryStores(store.url, { now: clock });
        try {
          now += 12 * DAY; // soon: 28 days left; server: 8
          const [a, b] = await both(sweep(stores, files).runOnce, sweep(other, files).runOnce);
          // soon enters 30 d; fresh, expired meanwhile, enters the last window (1 d); the server (8 d left) none new.
          expect([...a.certificates, ...b.certificates].map((c) => [c.certificate.eui, c.windowMs / DAY]).sort()).toEqual([
            [soon, 30],
            [fresh, 1],
          ]);
        } finally {
          await other.registry.close();
        }
        now += 1.5 * DAY; // server: 6.5 days left, within the week's window
        expect((await sweep(stores, files).runOnce()).certificates.map((c) => [c.certificate.role, c.windowMs / DAY])).toEqual([['server', 7]]);
        expect((await sweep(stores, files).runOnce()).certificates).toEqual([]);
        expect(await worker().runOnce()).toBe(5);
        const got = bodies(rx.got);
        expect(got.every((b) => b.type === 'certificate.expiring')).toBe(true);
        const station = got.filter((b) => b.data.station?.eui === fresh).map((b) => b.data);
        expect(station).toEqual([
          expect.objectContaining({ certificate: expect.objectContaining({ role: 'station', fingerprint: 'b2'.repeat(32) }), within: '7d', expired: false, daysLeft: 5 }),
          expect.objectContaining({ within: '1d', expired: true, daysLeft: -7 }),
        ]);
        const serverBodies = got.filter((b) => (b.data.certificate as { role: string }).role === 'server').map((b) => b.data.within);
        expect(serverBodies).toEqual(['30d', '7d']);
        expect(got.find((b) => b.data.station?.eui === soon)?.data).toMatchObject({ within: '30d', daysLeft: 28 });
      } finally {
        await rx.close();
      }
    });
  });

  it('retries after a 500 with back-off, across a restart on the same database', async () => {
    const rx = await receiver([500]);
    try {
      await add(rx.url, 'all');
      await stores.registry.recordUnknown('0000000000000042', { at: clock(), remoteAddress: null, request: {} });
      const first = worker();
      expect(await first.runOnce()).toBe(1);
      const [d] = await stores.webhooks.listDeliveries({ limit: 1, failed: true });
      expect(d).toMatchObject({ state: 'pending', attempts: 1, lastStatus: 500 });
      expect(d!.nextAttemptAt.getTime() - now).toBeLessThanOrEqual(30_000);
      // Not due yet.
      expect(await first.runOnce()).toBe(0);
      await first.stop();
      await stores.registry.close();

      // A new server on the same database, after the back-off.
      stores = await createRegistryStores(store.url, { now: clock });
      now += 10_000;
      expect(await worker().runOnce()).toBe(1);
      expect(rx.got).toHaveLength(2);
      expect(rx.got[0]?.body).toBe(rx.got[1]?.body);
      expect(rx.got[0]?.headers['x-bscups-delivery']).toBe(rx.got[1]?.headers['x-bscups-delivery']);
      expect((await stores.webhooks.listDeliveries({ limit: 5 }))[0]).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 200 });
      expect((await stores.webhooks.listWebhooks())[0]?.consecutiveFailures).toBe(0);
    } finally {
      await rx.close();
    }
  });

  it('two workers on one database deliver each event once', async () => {
    const rx = await receiver();
    try {
      await add(rx.url, 'all');
      for (let i = 0; i < 30; i++) await stores.registry.recordUnknown(`00000000000001${i.toString(16).padStart(2, '0')}`, { at: clock(), remoteAddress: null, request: {} });
      const other = await createRegistryStores(store.url, { now: clock });
      try {
        const [a, b] = await Promise.all([worker({ batch: 7 }).runOnce(), worker({ batch: 7 }, other).runOnce()]);
        expect(a + b).toBe(30);
        expect(rx.got).toHaveLength(30);
        expect(new Set(rx.got.map((r) => r.headers['x-bscups-delivery'])).size).toBe(30);
      } finally {
        for (const w of workers.splice(0)) await w.stop();
        await other.registry.close();
      }
    } finally {
      await rx.close();
    }
  });

  it('does not follow a redirect, gives up after the retry window, and disables a webhook after N failures with its audit row', async () => {
    // Every attempt is answered with a redirect (the fourth too, so which of the two last attempts is recorded first does not matter).
    const rx = await receiver([302, 302, 302, 302]);
    try {
      const hook = await add(rx.url, 'all');
      await stores.registry.recordUnknown('0000000000000043', { at: clock(), remoteAddress: null, request: {} });
      await stores.registry.recordUnknown('0000000000000044', { at: clock(), remoteAddress: null, request: {} });
      const w = worker({ disableAfter: 3, retryForMs: 15_000 });
      expect(await w.runOnce()).toBe(2);
      // Only the registered URL was asked, never the redirect's target.
      expect(rx.got).toHaveLength(2);
      const failed = await stores.webhooks.listDeliveries({ limit: 5, failed: true });
      expect(failed.map((d) => d.lastError)).toEqual(['redirect 302 not followed', 'redirect 302 not followed']);
      now += 20_000;
      expect(await w.runOnce()).toBe(2);
      const after = await stores.webhooks.listDeliveries({ limit: 5 });
      // The third failure disabled the webhook; the retry window had passed for the other.
      expect(after.map((d) => d.state).sort()).toEqual(['dead', 'failed']);
      const [disabled] = await stores.webhooks.listWebhooks();
      expect(disabled).toMatchObject({ enabled: false, consecutiveFailures: 3 });
      const audit = await stores.access.queryAudit({ action: 'webhook.disable', limit: 5 });
      expect(audit.items).toHaveLength(1);
      expect(audit.items[0]).toMatchObject({ actor: 'server', target: hook.id });
      expect(JSON.stringify(audit.items[0])).not.toContain('s3cret');
      // A disabled webhook is not queued for.
      await stores.registry.recordUnknown('0000000000000045', { at: clock(), remoteAddress: null, request: {} });
      expect(await stores.webhooks.listDeliveries({ limit: 10 })).toHaveLength(2);
    } finally {
      await rx.close();
    }
  });

  it('posts readable text to a Slack webhook', async () => {
    const rx = await receiver();
    try {
      await add(rx.url, 'all', null, 'slack');
      await stores.registry.recordUnknown('0000000000000046', { at: clock(), remoteAddress: '192.0.2.9', request: {} });
      await worker().runOnce();
      expect(JSON.parse(rx.got[0]!.body)).toEqual({ text: 'bscups: unknown station 0000000000000046 called for the first time from 192.0.2.9 (2026-12-07T12:00:00.000Z)' });
      expect(rx.got[0]?.headers['x-bscups-signature']).toBeUndefined();
    } finally {
      await rx.close();
    }
  });
});

describe('Slack text of the events read off the clock', () => {
  const slack = (type: string, data: Record<string, unknown>) =>
    (JSON.parse(deliveryBody({ format: 'slack', payload: JSON.stringify({ id: 'x', type, time: '2026-12-07T12:00:00.000Z', data }) })) as { text: string }).text;

  it('says which certificate expires and when, and which station went silent', () => {
    expect(slack('certificate.expiring', { certificate: { role: 'server', notAfter: '2026-12-14T00:00:00.000Z' }, within: '7d', expired: false })).toBe(
      'bscups: the server certificate expires within 7d (2026-12-14T00:00:00.000Z) (2026-12-07T12:00:00.000Z)',
    );
    expect(slack('certificate.expiring', { certificate: { role: 'station', notAfter: '2026-12-01T00:00:00.000Z' }, station: { eui: '0000000000000032' }, within: '1d', expired: true })).toBe(
      'bscups: the client certificate of station 0000000000000032 expired on 2026-12-01T00:00:00.000Z (2026-12-07T12:00:00.000Z)',
    );
    expect(slack('station.health_changed', { station: { eui: '0000000000000021' }, from: 'healthy', to: 'silent', reason: 'not seen for 26 h' })).toBe(
      'bscups: station 0000000000000021 health healthy → silent: not seen for 26 h (2026-12-07T12:00:00.000Z)',
    );
  });
});
