import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signBuffer } from '../src/signing/index.js';
import { createSimulatedStation, initStationHome, type SimulatedStation } from '../src/simulator/index.js';
import { adminClient, type Json } from './support/admin-client.js';
import { chromiumAvailable, launchChromium, openPage, signIn, startDashboardServer, type DashboardServer, type PageWatch } from './support/dashboard.js';

// The dashboard over 200 stations with hostile data (issue 17, items 3 and 11-15):
// markup, U+202E and 255-character values in names, labels and what stations
// report, at desktop and phone widths. One server, one Chromium, one page reused.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };
const RLO = '\u202E';
const plain = (i: number) => `F2${i.toString(16).toUpperCase().padStart(14, '0')}`;
const H1 = 'F100000000000001'; // markup in its name, a label value with ", ", a 255-character label and model
const H2 = 'F100000000000002'; // U+202E in its name, a label, its model and station version
const H3 = 'F100000000000003'; // a 200-character name
const R1 = 'F400000000000001';
const R2 = 'F400000000000002';
const FW = 'F300000000000001'; // its upgrade fails
const STRANGER = 'EE000000000000AA';
const MARKUP = `<img src=x onerror="document.title='pwned'">`;
const LONG_MODEL = 'M'.repeat(255);
const PLAIN = 196;
const TOTAL = PLAIN + 6;
/** Raw bidirectional controls: none may reach the page; they show as escapes. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

let srv: DashboardServer;
let call: ReturnType<typeof adminClient>;
let browser: Browser;
let page: Page;
const watches: PageWatch[] = [];
const sims = new Map<string, SimulatedStation>();
const poll = <T>(read: () => T | Promise<T>, timeout = 20_000) => expect.poll(read, { timeout, interval: 100 });
const RUN = chromiumAvailable('dashboard fleet tests');

async function ok(method: string, path: string, body?: unknown): Promise<Json> {
  const r = await call(method, path, srv.adminKey, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body as Json;
}

async function sim(eui: string, init: { model?: string; stationVersion?: string; version?: string; sigKey?: Buffer } = {}): Promise<SimulatedStation> {
  const home = join(srv.dir, 'homes', eui);
  await mkdir(home, { recursive: true });
  await initStationHome(home, { cupsUri: srv.stationUrl, version: init.version ?? '1.0.0', ...(init.sigKey === undefined ? {} : { sigKeys: [init.sigKey] }) });
  const s = createSimulatedStation({ home, eui, model: init.model ?? 'linux', ...(init.stationVersion === undefined ? {} : { stationVersion: init.stationVersion }), timeoutMs: 20_000 });
  sims.set(eui, s);
  return s;
}

/** What the page shows as text, with every raw bidirectional control reported. */
const mainText = () => page.locator('main').innerText();
/** True when the page does not scroll sideways. */
const fitsWidth = () => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1');

beforeAll(async () => {
  if (!RUN) return;
  srv = await startDashboardServer();
  call = adminClient(srv.dashboard.replace(/\/$/, ''));
  const rows: Json[] = [
    { eui: H1, name: MARKUP, labels: { addr: 'Main St, Springfield', long: 'w'.repeat(255) } },
    { eui: H2, name: `evil${RLO}`, labels: { site: `x${RLO}y` } },
    { eui: H3, name: 'N'.repeat(200) },
    { eui: R1, name: 'pair-1', labels: { group: 'pair' } },
    { eui: R2, name: 'pair-2', labels: { group: 'pair' } },
    { eui: FW, name: 'upgrade-fails' },
    ...Array.from({ length: PLAIN }, (_, i) => ({ eui: plain(i + 1), name: `gw-${i + 1}`, labels: { fleet: 'big', group: (i + 1) % 2 === 1 ? 'odd' : 'even' } })),
  ];
  const imported = await ok('POST', '/api/v1/stations/import', rows);
  expect(imported.counts).toMatchObject({ create: TOTAL, error: 0 });

  const signing = generateSigningKey();
  await srv.runtime.registry.addSigningKey({ crc: signing.crc, publicKey: signing.sigKey.toString('hex'), name: 'test' });
  // An update that installs nothing: the station keeps reporting 1.0.0, so its upgrade fails.
  const update = Buffer.from('#!/bin/sh\nexit 0\n');
  const sig = signBuffer(update, signing.privateKeyPem).toString('base64');
  const put = await fetch(`${srv.dashboard}api/v1/firmware/2.0.0?keyCrc=${signing.crc}&signature=${encodeURIComponent(sig)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${srv.adminKey}`, 'content-type': 'application/octet-stream' },
    body: update,
  });
  expect(put.status, await put.text()).toBe(201);

  await sim(H1, { model: LONG_MODEL, stationVersion: '2.0.6(long/bscups-sim)' });
  await sim(H2, { model: `rev${RLO}ledom`, stationVersion: `2.0.0${RLO}<b>x</b>` });
  await sim(R1);
  await sim(R2);
  await sim(FW, { sigKey: signing.sigKey });
  await sim(STRANGER, { model: '<script>alert(1)</script>', stationVersion: 'unknown-2.0.6', version: '9.9.9' });
  for (const s of sims.values()) await s.exchange();
  for (const eui of [H1, H2, R1, R2, FW]) expect((await ok('GET', `/api/v1/stations/${eui}`)).reported, eui).not.toBeNull();

  browser = await launchChromium();
  const opened = await openPage(browser, srv.dashboard.replace(/\/$/, ''), DESKTOP);
  page = opened.page;
  watches.push(opened.watch);
  await signIn(page, srv.adminKey);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
});

describe.runIf(RUN)('dashboard over a fleet with hostile data', () => {
  it('names, labels and reported values show as text, isolated, bidi controls as escapes, EUIs on one line, at desktop and phone widths', async () => {
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      await page.goto('/#/stations?q=F1');
      const rows = page.getByTestId('stations').locator('tbody tr');
      await poll(() => rows.count()).toBe(3);
      const text = await mainText();
      expect(text).not.toMatch(BIDI);
      expect(text).toContain(MARKUP);
      expect(text).toContain('evil\\u202e');
      expect(await page.locator('main img').count()).toBe(0);
      expect(await page.title()).not.toContain('pwned');
      // Every untrusted value is its own isolate.
      expect(await page.locator(`tr[data-eui="${H2}"] bdi`).allTextContents()).toEqual(expect.arrayContaining(['evil\\u202e', `rev\\u202eledom`, 'site=x\\u202ey']));
      // EUIs never wrap; a 255-character model is cut to a line with the whole of it on hover.
      const euiLines = await page.locator('a.eui').evaluateAll((as) => as.map((a) => a.getClientRects().length));
      expect(euiLines).toEqual([1, 1, 1]);
      const heights = await page.locator('a.eui').evaluateAll((as) => as.map((a) => a.getBoundingClientRect().height));
      for (const hgt of heights) expect(hgt).toBeLessThan(30);
      const model = page.locator(`tr[data-eui="${H1}"] td`).nth(3).locator('bdi');
      expect(await model.getAttribute('title')).toBe(LONG_MODEL);
      expect((await model.boundingBox())?.width ?? 0).toBeLessThan(260);
      // The page itself never scrolls sideways; on a desktop the table fits without scrolling either.
      expect(await fitsWidth()).toBe(true);
      if (viewport === DESKTOP) expect(await page.locator('.table-wrap').evaluate((w) => w.scrollWidth <= w.clientWidth + 1)).toBe(true);

      await page.goto(`/#/stations/${H2}`);
      const heading = page.locator('h1#station-title');
      await poll(() => heading.textContent()).toBe(`evil\\u202e ${H2}`);
      expect(await heading.locator('bdi').count()).toBe(1);
      const facts = page.getByTestId('station-facts');
      await poll(() => facts.textContent()).toContain('model rev\\u202eledom, station 2.0.0\\u202e<b>x</b>');
      expect(await facts.textContent()).toContain('site=x\\u202ey');
      expect(await mainText()).not.toMatch(BIDI);
      expect(await page.locator('main b').count()).toBe(0);
      await page.goto(`/#/stations/${H3}`);
      await poll(() => heading.textContent()).toContain(H3);
      const eui = heading.locator('.eui');
      expect(await eui.evaluate((e) => e.getClientRects().length)).toBe(1);
      expect(await fitsWidth()).toBe(true);
    }
    await page.setViewportSize(DESKTOP);
  }, 90_000);

  it('the station form sends only what changed, keeps ", " in label values, and name and label edits appear as events; its notice stays on its page', async () => {
    await page.goto(`/#/stations/${H1}`);
    const tc = page.getByLabel('TC URI');
    await poll(() => page.getByLabel('Label 1 value').inputValue()).toBe('Main St, Springfield');
    await tc.fill('wss://lns.example:6887');
    const patch = page.waitForRequest((r) => r.method() === 'PATCH');
    await page.getByRole('button', { name: 'Save changes' }).click();
    expect((await patch).postDataJSON()).toEqual({ tcUri: 'wss://lns.example:6887' });
    await poll(() => page.locator('.status').textContent()).toBe('Saving the station: done');
    expect((await ok('GET', `/api/v1/stations/${H1}`)).labels).toEqual({ addr: 'Main St, Springfield', long: 'w'.repeat(255) });
    // The notice belongs to the station page: another page starts without it.
    await page.goto('/#/firmware');
    await poll(() => page.locator('main h1').textContent()).toBe('Firmware library');
    expect(await page.locator('.status').textContent()).toBe('');

    await page.goto(`/#/stations/${H1}`);
    await poll(() => page.getByLabel('Label 1 value').inputValue()).toBe('Main St, Springfield');
    await page.getByLabel('Name', { exact: true }).fill('renamed');
    await page.getByLabel('Label 1 value').fill('Elm St, Shelbyville');
    await page.getByRole('button', { name: 'Remove label 2' }).click();
    await page.getByRole('button', { name: 'Add label' }).click();
    await page.getByLabel('Label 3 key').fill('tier');
    await page.getByLabel('Label 3 value').fill('gold, silver');
    const second = page.waitForRequest((r) => r.method() === 'PATCH');
    await page.getByRole('button', { name: 'Save changes' }).click();
    expect((await second).postDataJSON()).toEqual({ name: 'renamed', labels: { addr: 'Elm St, Shelbyville', long: null, tier: 'gold, silver' } });
    await poll(async () => (await ok('GET', `/api/v1/stations/${H1}`)).labels).toEqual({ addr: 'Elm St, Shelbyville', tier: 'gold, silver' });
    const events = page.getByTestId('events');
    await poll(() => events.textContent()).toContain('name "renamed"');
    expect(await events.textContent()).toContain('labels set addr=Elm St, Shelbyville, tier=gold, silver; removed long');
  });

  it('the station list: total, page size, model filter, export and bulk labels of the filter, and a rollout on it', async () => {
    await page.goto('/#/stations');
    const total = page.getByTestId('station-total');
    const rows = page.getByTestId('stations').locator('tbody tr');
    await poll(() => total.textContent()).toBe(`${TOTAL} stations, showing 1–25`);
    await page.getByLabel('Per page').selectOption('100');
    await poll(() => rows.count()).toBe(100);
    expect(await total.textContent()).toBe(`${TOTAL} stations, showing 1–100`);
    expect(page.url()).toContain('size=100');

    await page.getByLabel('Model', { exact: true }).fill('linux');
    await page.getByLabel('Model', { exact: true }).press('Enter');
    await poll(() => total.textContent()).toBe('3 stations, showing 1–3'); // R1, R2, FW
    await page.getByLabel('Model', { exact: true }).fill('');
    await page.getByLabel('Label', { exact: true }).fill('group=odd');
    await page.getByLabel('Label', { exact: true }).press('Enter');
    await poll(() => total.textContent()).toBe(`${PLAIN / 2} stations, showing 1–${PLAIN / 2}`);

    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export these stations (CSV)' }).click();
    const file = await readFile((await (await download).path()) as string, 'utf8');
    const lines = file.trim().split('\n');
    expect(lines[0]).toMatch(/^eui,/);
    expect(lines).toHaveLength(1 + PLAIN / 2);
    for (const line of lines.slice(1)) expect(line).toContain('group=odd');

    await page.getByLabel('Set label').fill('batch');
    await page.getByLabel('to value').fill('7');
    await page.getByRole('button', { name: 'Apply to matching stations' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.locator('.status').textContent()).toBe(`Labels changed on ${PLAIN / 2} stations.`);
    expect((await ok('GET', '/api/v1/stations/count?label=batch=7')).total).toBe(PLAIN / 2);
    expect((await ok('GET', '/api/v1/stations/count?label=group=even&label=batch')).total).toBe(0);
    const one = (await ok('GET', `/api/v1/stations/${plain(1)}/events`)).items.map((e: Json) => e.message);
    expect(one).toContain('labels set batch=7');
    expect((await ok('GET', `/api/v1/stations/${plain(1)}`)).labels).toEqual({ fleet: 'big', group: 'odd', batch: '7' });
    // One audit row per station changed, each written in that station's transaction, naming the filter that chose it.
    const labelled = (await ok('GET', '/api/v1/audit?action=station.label&limit=1000')).items as Json[];
    expect(labelled).toHaveLength(PLAIN / 2);
    expect(new Set(labelled.map((a) => a.target))).toContain(plain(1));

    const start = page.getByRole('link', { name: 'Start a rollout on this filter' });
    expect(await start.getAttribute('href')).toBe('#/rollouts?label=group%3Dodd');
    await start.click();
    await poll(() => page.getByLabel('Stations with labels').inputValue()).toBe('group=odd');
  });

  it('rollouts count the stations of every wave, show durations in units, promise no ETA while paused, and the overview lists them', async () => {
    const created = await ok('POST', '/api/v1/rollouts', { healthSoak: '0', name: 'pair move', tcUri: 'wss://pair.example:6887', label: ['group=pair'], waves: '1,100%', deadline: '26h' });
    const id = created.id as string;
    const first = (await ok('GET', `/api/v1/rollouts/${id}/members?wave=1`)).items[0].eui as string;
    // Only the first wave's station asks: it takes the URI, confirms it, and wave 2 starts.
    await poll(async () => {
      await sims.get(first)?.exchange();
      return (await ok('GET', `/api/v1/rollouts/${id}`)).wave;
    }, 30_000).toBe(2);
    expect((await ok('GET', `/api/v1/rollouts/${id}`)).totals.confirmed).toBe(1);

    await page.goto('/#/rollouts');
    const card = page.getByTestId('rollouts').locator('li', { hasText: 'pair move' });
    await poll(() => card.getByTestId('rollout-counts').textContent()).toContain('1 of 2 confirmed');
    expect(await card.getByRole('img').getAttribute('aria-label')).toMatch(/: 1 confirmed.* of 2$/);

    await page.goto(`/#/rollouts/${id}`);
    await poll(() => page.getByTestId('plan').textContent()).toContain('deadline 26 h');
    await poll(() => page.getByTestId('gate').textContent()).toContain('ETA');
    await ok('POST', `/api/v1/rollouts/${id}/pause`);
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('paused');
    expect(await page.getByTestId('gate').textContent()).not.toContain('ETA');

    await page.goto('/#/');
    const active = page.getByTestId('active-rollouts');
    await poll(() => active.textContent()).toContain('pair move');
    expect(await active.textContent()).toContain('1 of 2 confirmed');
    expect(await active.getByRole('link', { name: 'pair move' }).getAttribute('href')).toBe(`#/rollouts/${id}`);
  }, 60_000);

  it('overview chart bars carry whole labels and lead to their stations; the errors card opens the recent non-ok exchanges', async () => {
    await page.goto('/#/');
    const byModel = page.getByTestId('by-model');
    await poll(() => byModel.locator('li').count()).toBeGreaterThanOrEqual(3);
    const long = byModel.locator('.bar-label', { hasText: 'MMMMMMMMMMMMMMMM' });
    expect(await long.textContent()).toBe(LONG_MODEL); // whole, cut only by the layout
    expect(await long.getAttribute('title')).toBe(LONG_MODEL);
    expect(await fitsWidth()).toBe(true);
    await byModel.getByRole('link', { name: /^linux/ }).click();
    await page.waitForURL(/#\/stations\?model=linux$/);
    await poll(() => page.getByTestId('station-total').textContent()).toBe('3 stations, showing 1–3');

    await page.goto('/#/');
    const errors = page.locator('[data-stat="errors"]');
    await errors.waitFor();
    await errors.click();
    const refusals = page.getByRole('table', { name: 'Recent non-ok exchanges' });
    await poll(() => refusals.textContent()).toContain(STRANGER);
    expect(await refusals.textContent()).toContain('404 unknown_station');
  });

  it('the overview says firmware compliance per model in words, and its counts lead to those stations', async () => {
    const summary = await ok('GET', '/api/v1/fleet/summary');
    const linux = (summary.compliance as Json[]).find((m) => m.model === 'linux');
    // 2.0.0 is built for any model: every model reported has it as its newest.
    expect(linux).toMatchObject({ newest: '2.0.0', stations: 3 });
    const { latest, behind, in_progress: moving } = linux.states as Record<string, number>;
    await page.goto('/#/');
    const card = page.getByTestId('compliance').locator('li[data-model="linux"]');
    await poll(() => card.textContent()).toBe(`${latest} of 3 linux gateways on 2.0.0; ${behind} behind; ${moving} in progress`);
    const long = page.getByTestId('compliance').locator(`li[data-model="${LONG_MODEL}"]`);
    expect(await long.textContent()).toBe(`0 of 1 ${LONG_MODEL} gateways on 2.0.0; 1 behind; 0 in progress`);
    expect(await fitsWidth()).toBe(true);
    await card.getByRole('link', { name: `${behind} behind` }).click();
    await page.waitForURL(/#\/stations\?model=linux&compliance=behind$/);
    expect(await page.getByLabel('Firmware compliance').inputValue()).toBe('behind');
    await poll(() => page.getByTestId('station-total').textContent()).toBe(behind === 0 ? 'No station matches.' : `${behind} station${behind === 1 ? '' : 's'}, showing 1–${behind}`);
    // One station's page says its own state in words.
    const one = await ok('GET', `/api/v1/stations/${H1}/compliance`);
    expect(one).toEqual({ eui: H1, state: 'behind', newest: '2.0.0' });
    await page.goto(`/#/stations/${H1}`);
    await poll(() => page.getByTestId('compliance-line').textContent()).toBe('Firmware compliance: behind: could have 2.0.0');
  });

  it('unknown stations show what they reported; sizes in bytes, CRCs in hex; a failed upgrade reads failed', async () => {
    await page.goto('/#/unknown');
    const table = page.getByRole('table', { name: 'Unknown stations' });
    await poll(() => table.textContent()).toContain(STRANGER);
    const row = table.locator('tr', { hasText: STRANGER });
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['<script>alert(1)</script>', '9.9.9', 'unknown-2.0.6']);
    expect(cells[7]).toMatch(/^(127\.0\.0\.1|::ffff:127\.0\.0\.1)$/);

    await page.goto('/#/firmware');
    const fw = page.getByRole('table', { name: 'Firmware packages' });
    await poll(() => fw.textContent()).toContain('2.0.0');
    const fwCells = await fw.locator('tbody tr').first().locator('td').allTextContents();
    expect(fwCells[1]).toBe('17 B');
    expect(fwCells[3]).toMatch(/^0x[0-9A-F]{8}$/);

    await ok('POST', '/api/v1/firmware/2.0.0/targets', { stations: [FW], maxOffers: 1 });
    await poll(async () => {
      await sims.get(FW)?.exchange();
      return (await ok('GET', `/api/v1/stations/${FW}`)).firmware?.state;
    }, 30_000).toBe('failed');
    await page.goto(`/#/stations/${FW}`);
    await poll(() => page.getByTestId('firmware-failed').textContent()).toBe(' · firmware 2.0.0 failed');
    expect(await page.locator('.page-head').textContent()).not.toContain('still to send: firmware');
  }, 60_000);

  it('an admin creates an API key, shown once, and revokes it', async () => {
    await page.goto('/#/access');
    await page.getByLabel('Key name').fill(`wall ${RLO}screen`);
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByTestId('new-key').locator('input');
    await poll(() => secret.inputValue()).toMatch(/^bsk_/);
    const key = await secret.inputValue();
    expect((await call('GET', '/api/v1/me', key)).status).toBe(200);
    const table = page.getByRole('table', { name: 'API keys' });
    await poll(() => table.textContent()).toContain('wall \\u202escreen');
    // Shown once: after leaving the page it is nowhere.
    await page.goto('/#/');
    await page.goto('/#/access');
    await poll(() => table.textContent()).toContain('wall \\u202escreen');
    expect(await page.content()).not.toContain(key);
    const id = key.slice('bsk_'.length).split('.')[0] as string;
    await page.getByRole('button', { name: `Revoke key ${id}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await poll(async () => (await call('GET', '/api/v1/me', key)).status).toBe(401);
    // The key this page signed in with cannot be revoked from it.
    const me = (await call('GET', '/api/v1/me', srv.adminKey)).body as Json;
    expect(await page.getByRole('button', { name: `Revoke key ${me.keyId}` }).count()).toBe(0);
  });

  it('axe finds no serious or critical violation on the pages holding hostile data, at desktop and phone widths', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: srv.dashboard.replace(/\/$/, ''), bypassCSP: true });
    const p = await context.newPage();
    await signIn(p, srv.adminKey);
    const pages = ['#/', '#/stations', `#/stations/${H1}`, `#/stations/${H2}`, '#/unknown', '#/access', '#/rollouts'];
    const violations: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      await p.setViewportSize(viewport);
      for (const hash of viewport === DESKTOP ? pages : pages.slice(0, 4)) {
        await p.goto(`/${hash}`);
        await poll(() => p.locator('main h1').count()).toBe(1);
        await p.waitForLoadState('networkidle');
        await p.addScriptTag({ path: AXE });
        const found = await p.evaluate(async () => {
          const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe;
          const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
          return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
        });
        violations.push(...found.map((v) => `${viewport.width}px ${hash} ${v}`));
      }
    }
    await context.close();
    expect(violations).toEqual([]);
  }, 120_000);

  it('had no console errors, asked nothing of another origin, and every answer carried the CSP header', () => {
    for (const w of watches) {
      expect(w.errors).toEqual([]);
      expect(w.withoutCsp).toEqual([]);
      expect(w.offsite).toEqual([]);
    }
  });
});
