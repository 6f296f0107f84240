import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthThresholds } from '../src/config.js';
import { auditRow, SERVER_ACTOR } from '../src/operations/context.js';
import { startTestServer, type TestServer } from './support/server.js';

// `serve` runs the notice sweep: a station that stops calling is told to webhooks as silent,
// once, on the server's own timers (health thresholds and intervals shrunk to fractions of a second).
describe('serve tells webhooks that a station went silent', () => {
  let srv: TestServer;
  let pki: string;
  const got: { event: string; body: string; signature: string }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ event: String(req.headers['x-bscups-event']), body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-bscups-signature']) });
      res.end();
    });
  });

  beforeAll(async () => {
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    pki = mkdtempSync(join(tmpdir(), 'bscups-notice-pki-'));
    srv = await startTestServer({
      serving: false,
      config: { adminPort: 0, healthEarly: 0.05, healthInterval: 0.4, healthGrace: 0.2, noticeInterval: 0.05, webhookInterval: 0.05 },
      serve: { pkiDir: pki },
    });
  });
  afterAll(async () => {
    await srv?.stop();
    rmSync(pki, { recursive: true, force: true });
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('once, signed, within its interval plus grace and a sweep', async () => {
    const { runtime, config } = srv;
    const at = new Date();
    await runtime.webhooks.addWebhook(
      { id: 'serve-notices', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['station.health_changed'], secret: 'k', format: 'json' },
      at,
      auditRow(SERVER_ACTOR, at, 'webhook.add', 'serve-notices'),
    );
    const eui = '00000000000000C1';
    await runtime.registry.createStation({ eui });
    await runtime.registry.recordExchange(eui, {
      at: new Date(),
      remoteAddress: null,
      reported: { cupsUri: 'http://127.0.0.1:1', tcUri: 'ws://127.0.0.1:2', cupsCredCrc: 1, tcCredCrc: 2, station: '2.0.6', model: 'linux', package: '1.0.0', keys: [] },
      events: [],
      health: { thresholds: healthThresholds(config), callsAgain: false, previousSeenAt: null, hasTc: true },
    });
    await expect.poll(() => got.filter((g) => g.event === 'station.health_changed').length, { timeout: 15_000, interval: 50 }).toBe(1);
    const [told] = got;
    expect(JSON.parse(told!.body)).toMatchObject({ type: 'station.health_changed', data: { station: { eui }, from: 'unknown', to: 'silent' } });
    expect(told!.signature).toBe(`sha256=${createHmac('sha256', 'k').update(told!.body).digest('hex')}`);
    // Many sweeps later: still once.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(got).toHaveLength(1);
  });
});
