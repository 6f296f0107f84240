import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { createRollout, rollbackRollout } from '../src/operations/rollouts.js';
import { DEFAULT_HEALTH } from '../src/core/health.js';
import { startWebhookWorker, type WebhookWorker } from '../src/http/webhook-worker.js';
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
    const rx = await receiver([302, 302, 302]);
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
