import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type Json } from './support/admin-client.js';
import { chromiumAvailable, launchChromium, openPage, signIn, startDashboardServer, type DashboardServer, type PageWatch } from './support/dashboard.js';

// The webhook page of the dashboard (admin): add, test, follow deliveries (failed
// ones alone), remove; thin over the API, so what it shows is what the API says.
const RUN = chromiumAvailable('dashboard webhook tests');
const SECRET = 'dashboard-s3cret';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let srv: DashboardServer;
let call: ReturnType<typeof adminClient>;
let browser: Browser;
let page: Page;
let watch: PageWatch;
let receiver: Server;
let base: string;
const got: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
const poll = <T>(read: () => T | Promise<T>, timeout = 20_000) => expect.poll(read, { timeout, interval: 100 });

async function ok(method: string, path: string, body?: unknown): Promise<Json> {
  const r = await call(method, path, srv.adminKey, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body as Json;
}

describe.runIf(RUN)('dashboard webhooks', () => {
  beforeAll(async () => {
    // One receiver: /ok answers 200, /fail answers 500.
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = req.url === '/fail' ? 500 : 200;
        res.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    srv = await startDashboardServer();
    call = adminClient(srv.dashboard.replace(/\/$/, ''));
    browser = await launchChromium();
    ({ page, watch } = await openPage(browser, srv.dashboard));
    await signIn(page, srv.adminKey);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('adds a webhook with chosen events and a secret, tests it, and the receiver gets a signed test event', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByLabel('Receiver URL').fill(`${base}/ok`);
    await page.getByLabel('Secret').fill(SECRET);
    await page.getByLabel('Format').selectOption('json');
    // Each event can be chosen once "all" is unticked.
    await page.getByLabel('All events, including ones added later').uncheck();
    await page.getByLabel('station.unknown_first_seen').check();
    await page.getByLabel('certificate.expiring').check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await poll(() => page.getByRole('status').innerText()).toMatch(/^Webhook [0-9a-f]{12} added$/);
    const [hook] = (await ok('GET', '/api/v1/webhooks')) as { id: string; events: string[]; secret: string | null; url: string }[];
    expect(hook).toMatchObject({ url: `${base}/ok`, events: ['certificate.expiring', 'station.unknown_first_seen'], secret: 'set' });
    // The secret went once: the page shows whether one is set, never itself.
    const row = page.getByRole('table', { name: 'Webhooks', exact: true }).getByRole('row').filter({ hasText: hook!.id });
    await expect(row.innerText()).resolves.toMatch(/certificate\.expiring, station\.unknown_first_seen\s+json\s+yes\s+enabled/);
    expect(await page.locator('main').innerText()).not.toContain(SECRET);
    expect(await page.getByLabel('Secret').inputValue()).toBe('');

    await row.getByRole('button', { name: `Send a test event to webhook ${hook!.id}` }).click();
    await poll(() => got.filter((g) => g.path === '/ok').length).toBe(1);
    const test = got.find((g) => g.path === '/ok')!;
    expect(JSON.parse(test.body)).toMatchObject({ type: 'test', data: { webhook: { id: hook!.id } } });
    expect(test.headers['x-bscups-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(test.body).digest('hex')}`);
    const deliveries = page.getByRole('table', { name: 'Webhook deliveries' });
    await poll(() => deliveries.innerText()).toMatch(/test\s+[0-9a-f]{12}\s+delivered\s+1\s+200/);
  });

  it('shows failed deliveries alone on request, and removes a webhook after confirmation', async () => {
    await page.getByLabel('Receiver URL').fill(`${base}/fail`);
    await page.getByLabel('Format').selectOption('slack');
    await page.getByLabel('All events, including ones added later').check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await poll(async () => ((await ok('GET', '/api/v1/webhooks')) as unknown[]).length).toBe(2);
    const failing = ((await ok('GET', '/api/v1/webhooks')) as { id: string; url: string; format: string; events: string }[]).find((w) => w.url === `${base}/fail`)!;
    expect(failing).toMatchObject({ format: 'slack', events: 'all' });

    // An unknown station knocks: both webhooks are told; the failing receiver answers 500.
    await srv.runtime.registry.recordUnknown('EE00000000000001', { at: new Date(), remoteAddress: '127.0.0.1', request: {} });
    await poll(() => got.filter((g) => g.headers['x-bscups-event'] === 'station.unknown_first_seen').map((g) => g.path).sort()).toEqual(['/fail', '/ok']);
    const deliveries = page.getByRole('table', { name: 'Webhook deliveries' });
    await poll(() => deliveries.getByRole('row').count()).toBe(4); // header, the test, two sightings
    await page.getByLabel('Failed only').check();
    await poll(() => deliveries.getByRole('row').count()).toBe(2);
    await expect(deliveries.innerText()).resolves.toMatch(new RegExp(`station\\.unknown_first_seen\\s+${failing.id}\\s+pending\\s+1\\s+answered 500`));
    // One webhook's deliveries: the working one has no failure.
    const working = ((await ok('GET', '/api/v1/webhooks')) as { id: string; url: string }[]).find((w) => w.url === `${base}/ok`)!;
    await page.getByLabel('Webhook', { exact: true }).selectOption(working.id);
    await poll(() => page.locator('main').innerText()).toContain('No failed delivery.');
    await page.getByLabel('Failed only').uncheck();
    await poll(() => deliveries.getByRole('row').count()).toBe(3);
    await page.getByLabel('Webhook', { exact: true }).selectOption('');

    const row = page.getByRole('table', { name: 'Webhooks', exact: true }).getByRole('row').filter({ hasText: failing.id });
    await expect(row.innerText()).resolves.toMatch(/failing \(1\)/);
    await row.getByRole('button', { name: `Remove webhook ${failing.id}` }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.innerText()).resolves.toContain(`Remove the webhook ${failing.id}`);
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await poll(async () => ((await ok('GET', '/api/v1/webhooks')) as { id: string }[]).map((w) => w.id)).not.toContain(failing.id);
    await poll(() => page.getByRole('table', { name: 'Webhooks', exact: true }).innerText()).not.toContain(failing.id);
    const audit = (await ok('GET', '/api/v1/audit?action=webhook.remove')) as { items: { target: string }[] };
    expect(audit.items.map((a) => a.target)).toEqual([failing.id]);
  });

  it('an operator key has no webhook page, and the API refuses it', async () => {
    const { secret } = (await ok('POST', '/api/v1/api-keys', { name: 'ops', role: 'operator' })) as { secret: string };
    const other = await openPage(browser, srv.dashboard);
    try {
      await signIn(other.page, secret);
      await expect(other.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).count()).resolves.toBe(0);
      await other.page.goto('/#/webhooks');
      await poll(() => other.page.getByRole('status').innerText()).toMatch(/permission_denied|admin/);
    } finally {
      await other.context.close();
    }
    expect((await call('GET', '/api/v1/webhooks', secret)).status).toBe(403);
  });

  it('passes an axe-core WCAG 2 A/AA audit with its webhooks and deliveries, at desktop and phone widths', async () => {
    // axe is injected as a script, which the page's own CSP rightly refuses: this one context bypasses it.
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: srv.dashboard.replace(/\/$/, ''), bypassCSP: true });
    try {
      const p = await context.newPage();
      await signIn(p, srv.adminKey);
      const violations: string[] = [];
      for (const viewport of [{ width: 1280, height: 860 }, { width: 390, height: 844 }]) {
        await p.setViewportSize(viewport);
        await p.goto('/#/webhooks');
        await p.getByRole('table', { name: 'Webhook deliveries' }).waitFor();
        await p.addScriptTag({ path: AXE });
        const found = await p.evaluate(async () => {
          const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
          const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
          return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
        });
        violations.push(...found.map((v) => `${viewport.width}px ${v}`));
        expect(await p.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
      }
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('had no console errors and asked nothing of another origin', () => {
    expect(watch.errors).toEqual([]);
    expect(watch.offsite).toEqual([]);
    expect(watch.withoutCsp).toEqual([]);
  });
});
