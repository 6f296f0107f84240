import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signBuffer } from '../src/signing/index.js';
import { adminClient, type Json } from './support/admin-client.js';
import { cliJson } from './support/cli.js';
import { cliEntryArgs } from './support/cli-entry.js';
import { chromiumAvailable, launchChromium, openPage, signIn, simFleet, startDashboardServer, type DashboardServer, type PageWatch, type SimFleet } from './support/dashboard.js';

// One server, one Chromium for the whole file; every page is watched for console
// errors and for answers without the Content-Security-Policy header.
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SHOTS = join(import.meta.dirname, '..', 'docs', 'screenshots');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };
const TC_EUI = 'AA00000000000001';
const roll = (i: number) => `BB${i.toString(16).toUpperCase().padStart(14, '0')}`;
const paused = (i: number) => `CC${i.toString(16).toUpperCase().padStart(14, '0')}`;
const update = (version: string) => `#!/bin/sh\nprintf '%s\\n' ${version} > "$STATION_HOME/version.txt"\nexit 0\n`;

let srv: DashboardServer;
let call: ReturnType<typeof adminClient>;
let browser: Browser;
let page: Page;
let viewerKey: string;
let tcSim: SimFleet;
let rollSims: SimFleet;
let pauseSims: SimFleet;
const watches: PageWatch[] = [];
/** Waits for what the page shows; generous, as the pages refresh every 2 s and the machine may be busy. It returns as soon as the value matches. */
const poll = <T>(read: () => T | Promise<T>, options: { timeout?: number } = {}) => expect.poll(read, { timeout: options.timeout ?? 15_000, interval: 100 });
const RUN = chromiumAvailable('dashboard browser tests');

/** docs/screenshots are tracked: written only by `npm run screenshots`, never by a plain test run. */
async function shoot(p: Page, name: string): Promise<void> {
  if (process.env.BSCUPS_SCREENSHOTS !== '1') return;
  await p.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await p.setViewportSize(PHONE);
  await p.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await p.setViewportSize(DESKTOP);
}

beforeAll(async () => {
  if (!RUN) return;
  srv = await startDashboardServer();
  call = adminClient(srv.dashboard.replace(/\/$/, ''));
  const key = srv.adminKey;
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, key, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body as Json;
  };
  viewerKey = (await ok('POST', '/api/v1/api-keys', { name: 'wall-screen', role: 'viewer' })).secret;
  await ok('POST', '/api/v1/stations', { eui: TC_EUI, name: 'dash-tc', labels: { site: 'north' }, tcUri: 'wss://old-lns.example:6887' });
  for (let i = 1; i <= 20; i++) await ok('POST', '/api/v1/stations', { eui: roll(i), name: `roll-${i}`, labels: { group: 'roll', site: 'south' } });
  for (let i = 1; i <= 6; i++) await ok('POST', '/api/v1/stations', { eui: paused(i), name: `pause-${i}`, labels: { group: 'pause' } });
  for (let i = 1; i <= 2; i++) await ok('POST', '/api/v1/stations', { eui: `DD0000000000000${i}`, name: `quiet-${i}` });

  // A signing key the stations hold and a library package signed with it, uploaded through the API.
  const signing = generateSigningKey();
  await srv.runtime.registry.addSigningKey({ crc: signing.crc, publicKey: signing.sigKey.toString('hex'), name: 'test' });
  const body = Buffer.from(update('2.0.0'));
  const sig = signBuffer(body, signing.privateKeyPem).toString('base64');
  const put = await fetch(`${srv.dashboard}api/v1/firmware/2.0.0?keyCrc=${signing.crc}&signature=${encodeURIComponent(sig)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
    body,
  });
  expect(put.status, await put.text()).toBe(201);

  tcSim = await simFleet(srv.dir, srv.stationUrl, [TC_EUI], { tcUri: 'wss://old-lns.example:6887', sigKey: signing.sigKey });
  rollSims = await simFleet(srv.dir, srv.stationUrl, Array.from({ length: 20 }, (_, i) => roll(i + 1)), { sigKey: signing.sigKey });
  pauseSims = await simFleet(srv.dir, srv.stationUrl, Array.from({ length: 6 }, (_, i) => paused(i + 1)), { sigKey: signing.sigKey });
  // Every simulated station reports once, so the server knows its model and package.
  await Promise.all([tcSim.round(), rollSims.round(), pauseSims.round()]);

  browser = await launchChromium();
  const opened = await openPage(browser, srv.dashboard.replace(/\/$/, ''), DESKTOP);
  page = opened.page;
  watches.push(opened.watch);
}, 60_000);

afterAll(async () => {
  await Promise.all([tcSim?.stop(), rollSims?.stop(), pauseSims?.stop()]);
  await browser?.close();
  await srv?.stop();
});

describe.runIf(RUN)('web dashboard in Chromium', () => {
  it('serves the page and its hashed files with a strict CSP and cache headers, and the key is required only by the API', async () => {
    const index = await fetch(srv.dashboard);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/<style|style=/);
    expect(html).not.toMatch(/(src|href)="https?:/); // nothing from another origin
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${srv.dashboard.replace(/\/$/, '')}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-security-policy')).toBe(csp);
    expect((await call('GET', '/api/v1/stations')).status).toBe(401);
  });

  it('signs in, and the overview counts match the API', async () => {
    await signIn(page, srv.adminKey);
    expect(page.url()).not.toContain('bsk_');
    expect(await page.context().cookies()).toEqual([]);
    const summary = (await call('GET', '/api/v1/fleet/summary', srv.adminKey)).body as Json;
    const counts = page.getByTestId('state-counts');
    await poll(() => counts.locator('[data-state="total"] .n').textContent()).toBe(String(summary.total));
    for (const [state, n] of Object.entries(summary.byState as Record<string, number>)) {
      expect(await counts.locator(`[data-state="${state}"] .n`).textContent(), state).toBe(String(n));
    }
    expect(await counts.locator('[data-state="silent"] .n').textContent()).toBe(String(summary.silent));
    // Silent and failed come first.
    expect(await counts.locator('a').evaluateAll((els) => els.slice(1, 3).map((e) => e.getAttribute('data-state')))).toEqual(['silent', 'failed']);
    await poll(() => page.getByTestId('by-model').locator('li').allTextContents()).toContain('linux: 27');
    // The traffic of this server: the 27 first reports.
    await poll(async () => Number(await page.locator('[data-stat="exchanges"] .n').textContent())).toBeGreaterThanOrEqual(27);
  });

  it('filters and sorts the station table', async () => {
    await page.getByRole('link', { name: 'Stations', exact: true }).click();
    const rows = page.getByTestId('stations').locator('tbody tr');
    await poll(() => rows.count()).toBe(25); // first page of 29
    await page.getByLabel('Search').fill('dash-tc');
    await poll(() => rows.count()).toBe(1);
    expect(page.url()).toContain('q=dash-tc');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('State').selectOption('never_seen');
    await poll(async () => (await rows.allTextContents()).map((t) => t.slice(0, 16)).sort()).toEqual(['DD00000000000001', 'DD00000000000002']);
    await page.getByLabel('State').selectOption('');
    await page.getByLabel('Label', { exact: true }).fill('group=pause');
    await page.getByLabel('Label', { exact: true }).press('Enter');
    await poll(() => rows.count()).toBe(6);
    await page.getByRole('button', { name: 'Name' }).click(); // ascending
    await page.getByRole('button', { name: /Name/ }).click(); // descending
    await poll(() => rows.first().getAttribute('data-eui')).toBe(paused(6));
    await poll(() => page.getByRole('columnheader', { name: /Name/ }).getAttribute('aria-sort')).toBe('descending');
  });

  it('changes a TC URI on the station page and shows the simulated station in sync without a reload', async () => {
    await page.goto(`/#/stations?q=dash-tc`);
    await page.getByRole('link', { name: TC_EUI }).click();
    await page.getByLabel('TC URI').waitFor();
    await poll(() => page.getByLabel('TC URI').inputValue()).toBe('wss://old-lns.example:6887');
    const row = page.getByTestId('twin').locator('[data-row="TC URI"]');
    await page.getByLabel('TC URI').fill('wss://new-lns.example:6887');
    await page.getByRole('button', { name: 'Save changes' }).click();
    // Desired changed, the station has not asked yet: the difference is marked.
    await poll(() => row.getAttribute('class')).toBe('differs');
    await poll(() => page.getByTestId('sync-state').textContent()).toBe('pending config');
    const loads: string[] = [];
    page.on('framenavigated', (f) => loads.push(f.url()));
    tcSim.start();
    await poll(() => row.textContent(), { timeout: 15_000 }).toContain('wss://new-lns.example:6887in sync');
    await poll(() => page.getByTestId('sync-state').textContent()).toBe('in sync');
    await tcSim.stop();
    expect(loads).toEqual([]); // no reload, no navigation
    expect((await readFile(join(tcSim.stations[0]!.home, 'tc.uri'), 'utf8')).trim()).toBe('wss://new-lns.example:6887');
    await poll(() => page.getByTestId('events').textContent()).toContain('desired tcUri=wss://new-lns.example:6887');
    expect(await page.getByTestId('auth-mode').textContent()).toBe('none');
    await shoot(page, 'station');
  });

  it('starts a rollout over 20 simulated stations from the form and watches it finish', async () => {
    await page.goto('/#/rollouts');
    await page.getByLabel('Name').fill('fleet 2.0.0');
    await poll(() => page.getByLabel('Package', { exact: true }).locator('option').allTextContents()).toEqual(['2.0.0']);
    await page.getByLabel('Stations with labels').fill('group=roll');
    await page.getByLabel('Waves').fill('1,25%,100%');
    await page.getByLabel('Deadline per station').fill('60s');
    // Simulated stations call again within seconds: no health soak, they confirm by reporting the package.
    await page.getByLabel('Health soak').fill('0');
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start' }).click();
    await page.waitForURL(/#\/rollouts\/[^/]+$/);
    const state = page.getByTestId('rollout-state');
    await poll(() => state.textContent()).toBe('running');
    rollSims.start();
    await poll(() => state.textContent(), { timeout: 40_000 }).toBe('completed');
    await rollSims.stop();
    const id = decodeURIComponent(page.url().split('/').pop() ?? '');
    const detail = (await call('GET', `/api/v1/rollouts/${id}`, srv.adminKey)).body as Json;
    expect(detail.totals).toMatchObject({ confirmed: 20, failed: 0, pending: 0, offered: 0 });
    await poll(() => page.getByTestId('waves').locator('li').allTextContents()).toEqual([
      expect.stringContaining('1/1 confirmed'),
      expect.stringContaining('4/4 confirmed'),
      expect.stringContaining('15/15 confirmed'),
    ]);
    for (const st of rollSims.stations) expect((await readFile(join(st.home, 'version.txt'), 'utf8')).trim()).toBe('2.0.0');
  }, 60_000);

  it('pause stops offers; resume finishes the rollout', async () => {
    const created = await call('POST', '/api/v1/rollouts', srv.adminKey, { healthSoak: '0', name: 'paused one', firmware: '2.0.0', label: ['group=pause'], waves: '1,100%', deadline: '60s' });
    expect(created.status, created.text).toBe(201);
    const id = (created.body as Json).id as string;
    const api = async () => (await call('GET', `/api/v1/rollouts/${id}`, srv.adminKey)).body as Json;
    await page.goto(`/#/rollouts/${id}`);
    const state = page.getByTestId('rollout-state');
    await poll(() => state.textContent()).toBe('running');
    await poll(async () => (await api()).totals.offered).toBe(1); // wave 1: one station offered
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Pause' }).click();
    await poll(() => state.textContent()).toBe('paused');
    // Every station polls, several engine periods pass: the offer the station had not fetched yet was
    // withdrawn by the pause, so nobody upgrades and nobody else is offered (it is offered again on resume).
    const started = Date.now();
    while (Date.now() - started < 1500) await pauseSims.round();
    const held = await api();
    expect(held.state).toBe('paused');
    expect(held.totals).toMatchObject({ confirmed: 0, offered: 0, pending: 6 });
    const heldEvents = (await call('GET', `/api/v1/rollouts/${id}/events?type=wave_started`, srv.adminKey)).body as Json;
    expect(heldEvents.items.map((e: Json) => e.wave)).toEqual([1]);
    const versions = await Promise.all(pauseSims.stations.map(async (s) => (await readFile(join(s.home, 'version.txt'), 'utf8')).trim()));
    expect(versions.filter((v) => v === '2.0.0')).toHaveLength(0);
    await poll(() => page.getByTestId('waves').locator('li').first().textContent()).toContain('0/1 confirmed');
    await shoot(page, 'rollout');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
    pauseSims.start();
    await poll(() => state.textContent(), { timeout: 20_000 }).toBe('completed');
    await pauseSims.stop();
  }, 40_000);

  it('shows why a rollout halted by itself, offers resume, and aborts it after confirmation', async () => {
    // A TC URI move for a station that never asks again: lost after its 1 s deadline, over a budget of 0.
    const created = await call('POST', '/api/v1/rollouts', srv.adminKey, { healthSoak: '0', name: 'doomed', tcUri: 'wss://elsewhere.example:6887', station: [TC_EUI], waves: '100%', deadline: '1s', failureBudget: '0' });
    expect(created.status, created.text).toBe(201);
    await page.goto(`/#/rollouts/${(created.body as Json).id}`);
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('halted');
    await poll(() => page.getByTestId('halt-reason').textContent()).toMatch(/^Halted: failure budget exceeded/);
    expect(await page.getByRole('group', { name: 'Rollout controls' }).getByRole('button').allTextContents()).toEqual(['Resume', 'Retry failed', 'Abort', 'Roll back']);
    // The member table is read from the API a page at a time, once opened, filtered by state.
    await page.getByText('Stations (1)').click();
    const members = page.getByRole('table', { name: 'Rollout members' });
    await poll(() => members.textContent()).toContain(TC_EUI);
    expect(await members.textContent()).toContain('failed');
    await page.getByRole('combobox', { name: 'Member state' }).selectOption('pending');
    await poll(() => page.getByText('No pending stations.').count()).toBe(1);
    await page.getByRole('combobox', { name: 'Member state' }).selectOption('failed');
    await poll(() => members.textContent()).toContain(TC_EUI);
    await page.getByRole('button', { name: 'Abort' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Abort' }).click();
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('aborted');
  });

  it('schedules a rollout with a time window from the form, shows when it starts, and cancels it', async () => {
    await page.goto('/#/rollouts');
    await page.getByLabel('Name').fill('night move');
    // The revert box follows the server's defaults: on for a TC URI and a TC credential rotation, absent for CUPS credentials.
    const revert = page.getByLabel('Revert a station that fails');
    const box = async () => [await revert.isVisible(), (await revert.isVisible()) && (await revert.isChecked())];
    for (const [change, expected] of [['rotate:tc', [true, true]], ['rotate:cups', [false, false]], ['rotate:both', [false, false]], ['firmware', [true, false]], ['tcUri', [true, true]]] as const) {
      await page.getByLabel('Change').selectOption(change);
      expect(await box(), change).toEqual(expected);
    }
    await page.getByLabel('Change').selectOption('tcUri');
    await page.getByLabel('URI', { exact: true }).fill('wss://night-lns.example:6887');
    await page.getByLabel('Stations with labels').fill('group=pause');
    await page.getByLabel('Start at').fill('2031-01-15T03:00');
    await page.getByLabel('Time windows').fill('Mon-Fri 01:00-05:00 Europe/Berlin; Sat 02:00-03:00 UTC');
    await page.getByRole('button', { name: 'Start rollout' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('offering only in Mon-Fri 01:00-05:00 Europe/Berlin; Sat 02:00-03:00 UTC');
    await dialog.getByRole('button', { name: 'Schedule' }).click();
    await page.waitForURL(/#\/rollouts\/[^/]+$/);
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('scheduled');
    const id = decodeURIComponent(page.url().split('/').pop() ?? '');
    const detail = (await call('GET', `/api/v1/rollouts/${id}`, srv.adminKey)).body as Json;
    expect(detail).toMatchObject({ state: 'scheduled', startAt: new Date('2031-01-15T03:00').toISOString(), windows: ['Mon-Fri 01:00-05:00 Europe/Berlin', 'Sat 02:00-03:00 UTC'] });
    expect(await page.getByTestId('schedule').textContent()).toMatch(/^Starts .* · Offers only in Mon-Fri 01:00-05:00 Europe\/Berlin; Sat 02:00-03:00 UTC/);
    expect(await page.getByTestId('gate').textContent()).toContain('scheduled: starts at 2031');
    expect(await page.getByRole('group', { name: 'Rollout controls' }).getByRole('button').allTextContents()).toEqual(['Abort']);
    await page.getByRole('button', { name: 'Abort' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Abort' }).click();
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('aborted');
  });

  it('lists the firmware library, registers an unknown station with one click, and shows the audit log', async () => {
    await page.goto('/#/firmware');
    await poll(() => page.getByRole('table', { name: 'Firmware packages' }).textContent()).toContain('2.0.0');
    const stranger = await simFleet(srv.dir, srv.stationUrl, ['EE00000000000001']);
    await stranger.round();
    await page.goto('/#/unknown');
    await page.getByRole('button', { name: 'Register EE00000000000001' }).click();
    await poll(async () => (await call('GET', '/api/v1/stations/EE00000000000001', srv.adminKey)).status).toBe(200);
    await page.goto('/#/audit');
    const audit = page.getByRole('table', { name: 'Audit log' });
    await poll(() => audit.textContent()).toContain('station.create');
    expect(await audit.textContent()).toContain('rollout.pause');
  });

  it('shows a certificate with its fingerprint and expiry, and rotates it from the station page', async () => {
    const eui = 'DD00000000000001';
    await cliJson(['pki', 'init', '--server-name', 'localhost'], srv.env);
    const issued = await cliJson<Json>(['station', 'issue-cert', eui], srv.env);
    const fingerprint = (issued.credentials?.[0]?.fingerprint ?? issued.fingerprint) as string;
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    await page.goto(`/#/stations/${eui}`);
    // Never seen: the mode switches to mtls once the station reports the certificate; until then a rotation is pending.
    await poll(() => page.getByTestId('auth-mode').textContent()).toBe('none');
    await poll(() => page.getByText(/Pending cups rotation since/).count()).toBe(1);
    const certs = page.getByRole('table', { name: 'Certificates' }).locator('tbody tr');
    await poll(() => certs.count()).toBe(1);
    expect(await certs.first().locator('.fp').getAttribute('title')).toBe(fingerprint);
    expect(await certs.first().locator('time').getAttribute('datetime')).toMatch(/^\d{4}-/); // valid until
    await page.getByRole('button', { name: 'Rotate CUPS credential' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    await poll(() => certs.count()).toBe(2);
    const audit = (await call('GET', '/api/v1/audit?action=credential.rotate', srv.adminKey)).body as Json;
    expect(audit.items.map((a: Json) => a.target)).toEqual([eui]);
    expect(JSON.stringify(audit.items)).not.toMatch(/PRIVATE KEY/);
  });

  it('the overview follows the fleet: upgrades and packages after the rollouts, without a reload', async () => {
    await page.goto('/#/');
    const summary = (await call('GET', '/api/v1/fleet/summary', srv.adminKey)).body as Json;
    expect(summary.upgrades.upgraded).toBe(26);
    await poll(() => page.getByTestId('upgrades').locator('li').allTextContents()).toContain('upgraded: 26');
    await poll(() => page.getByTestId('by-package').locator('li').allTextContents()).toEqual(expect.arrayContaining(['2.0.0: 26', '1.0.0: 1']));
    // The station CA made above, and the certificate issued with it (3650 days: not within 30).
    const certificates = page.getByTestId('certificates');
    await poll(() => certificates.locator('[data-cert="station-ca"]').count()).toBe(1);
    expect(await certificates.locator('[data-cert="within-30d"] .n').textContent()).toBe('0');
    await shoot(page, 'overview');
  });

  it('retries a firmware target, edits labels and removes a station with confirmation, by keyboard where it matters', async () => {
    const eui = 'DD00000000000002';
    const targeted = await call('POST', '/api/v1/firmware/2.0.0/targets', srv.adminKey, { stations: [eui] });
    expect(targeted.status, targeted.text).toBe(200);
    await page.goto(`/#/stations/${eui}`);
    await poll(() => page.getByRole('button', { name: 'Retry firmware' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Retry firmware' }).click();
    await poll(() => page.getByTestId('events').textContent()).toContain('firmware 2.0.0 retry requested');
    expect(((await call('GET', `/api/v1/audit?action=firmware.retry`, srv.adminKey)).body as Json).items.map((a: Json) => a.target)).toEqual([eui]);

    // Labels are key/value rows: a value may hold commas.
    await page.getByRole('button', { name: 'Add label' }).click();
    await page.getByLabel('Label 1 key').fill('site');
    await page.getByLabel('Label 1 value').fill('east');
    await page.getByRole('button', { name: 'Add label' }).click();
    await page.getByLabel('Label 2 key').fill('tier');
    await page.getByLabel('Label 2 value').fill('gold');
    await page.getByLabel('Label 2 value').press('Enter'); // submits the form
    await poll(async () => ((await call('GET', `/api/v1/stations/${eui}`, srv.adminKey)).body as Json).labels).toEqual({ site: 'east', tier: 'gold' });

    await page.getByRole('button', { name: 'Remove station' }).click();
    const dialog = page.getByRole('dialog');
    await poll(() => dialog.getByRole('button', { name: 'Cancel' }).evaluate((b) => b === b.ownerDocument.activeElement)).toBe(true); // the safe choice has focus
    await page.keyboard.press('Escape');
    await poll(() => dialog.count()).toBe(0);
    expect((await call('GET', `/api/v1/stations/${eui}`, srv.adminKey)).status).toBe(200);
    await page.getByRole('button', { name: 'Remove station' }).click();
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await page.waitForURL(/#\/stations$/);
    expect((await call('GET', `/api/v1/stations/${eui}`, srv.adminKey)).status).toBe(404);
  });

  it('a viewer key sees no change buttons, and a forged change is refused by the API', async () => {
    const opened = await openPage(browser, srv.dashboard.replace(/\/$/, ''), DESKTOP);
    watches.push(opened.watch);
    const v = opened.page;
    await signIn(v, viewerKey);
    await poll(() => v.locator('.who').textContent()).toContain('viewer');
    await v.goto(`/#/stations/${TC_EUI}`);
    await poll(() => v.getByTestId('sync-state').count()).toBe(1);
    expect(await v.getByRole('button').allTextContents()).toEqual(['Skip to content', 'Sign out']);
    await v.goto('/#/rollouts');
    await poll(() => v.getByTestId('rollouts').locator('li').count()).toBe(4);
    expect(await v.getByRole('button', { name: 'Start rollout' }).count()).toBe(0);
    await v.getByRole('link', { name: 'paused one' }).click();
    await poll(() => v.getByTestId('rollout-state').textContent()).toBe('completed');
    expect(await v.getByRole('group', { name: 'Rollout controls' }).getByRole('button').count()).toBe(0);
    // The page offers nothing, but a hand-made request with the viewer key is refused all the same.
    const before = ((await call('GET', `/api/v1/stations/${TC_EUI}`, viewerKey)).body as Json).desired.tcUri as string;
    expect(before).toMatch(/^wss:/);
    const forged = await call('PATCH', `/api/v1/stations/${TC_EUI}`, viewerKey, { tcUri: 'wss://evil.example:6887' });
    expect(forged.status).toBe(403);
    expect((forged.body as Json).error.code).toBe('role_required');
    expect(((await call('GET', `/api/v1/stations/${TC_EUI}`, viewerKey)).body as Json).desired.tcUri).toBe(before);
    await opened.context.close();
  });

  it('offers approve and deny only to another key than the creator\'s, and says the state in words', async () => {
    const creator = ((await call('POST', '/api/v1/api-keys', srv.adminKey, { name: 'creator', role: 'operator' })).body as Json).secret as string;
    const theirs = await call('POST', '/api/v1/rollouts', creator, { name: 'needs a look', tcUri: 'wss://approved.example:6887', station: [TC_EUI], requireApproval: true, maxOffersPerMinute: 5 });
    expect(theirs.status, theirs.text).toBe(201);
    await page.goto(`/#/rollouts/${(theirs.body as Json).id}`);
    await poll(() => page.getByTestId('rollout-state-text').textContent()).toBe('waiting for approval by an operator other than its creator');
    expect(await page.getByTestId('pacing').textContent()).toContain('At most 5 offer(s) per minute');
    const controls = page.getByRole('group', { name: 'Rollout controls' });
    expect(await controls.getByRole('button').allTextContents()).toEqual(['Approve', 'Deny', 'Abort']);
    await controls.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Deny' }).click();
    await poll(() => page.getByTestId('rollout-state-text').textContent()).toMatch(/^denied by /);
    expect(await page.getByTestId('approval').textContent()).toMatch(/^Denied by /);
    // The signed-in key's own rollout: no approve or deny for it.
    const mine = await call('POST', '/api/v1/rollouts', srv.adminKey, { name: 'my own', tcUri: 'wss://approved.example:6887', station: [TC_EUI], requireApproval: true });
    await page.goto(`/#/rollouts/${(mine.body as Json).id}`);
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('waiting for approval');
    expect(await controls.getByRole('button').allTextContents()).toEqual(['Abort']);
    await controls.getByRole('button', { name: 'Abort' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Abort' }).click();
    await poll(() => page.getByTestId('rollout-state').textContent()).toBe('aborted');
    // The create form carries the new choices.
    await page.goto('/#/rollouts');
    for (const label of ['Offers per minute at most', 'Wait for approval', 'Pause after each wave']) expect(await page.getByLabel(label).count()).toBe(1);
  });

  it('every page passes an axe-core WCAG 2 A/AA audit, at desktop and phone widths', async () => {
    // axe is injected as a script, which the page's own CSP rightly refuses: this one context bypasses it.
    const context = await browser.newContext({ viewport: DESKTOP, baseURL: srv.dashboard.replace(/\/$/, ''), bypassCSP: true });
    const p = await context.newPage();
    await signIn(p, srv.adminKey);
    const rollouts = ((await call('GET', '/api/v1/rollouts', srv.adminKey)).body as Json).items as Json[];
    const pages = ['#/', '#/stations', `#/stations/${TC_EUI}`, '#/rollouts', `#/rollouts/${rollouts[0].id}`, '#/firmware', '#/unknown', '#/audit'];
    const violations: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      await p.setViewportSize(viewport);
      for (const hash of pages) {
        await p.goto(`/${hash}`);
        await poll(() => p.locator('main h1').count()).toBe(1);
        await p.waitForLoadState('networkidle');
        await p.addScriptTag({ path: AXE });
        const found = await p.evaluate(async () => {
          const axe = (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
          const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
          return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
        });
        violations.push(...found.map((v) => `${viewport.width}px ${hash} ${v}`));
      }
    }
    await context.close();
    expect(violations).toEqual([]);
  }, 150_000); // sixteen audits: about 40 s on a quiet machine, much more on a shared busy one

  it('the API reference page still renders under its policy', { timeout: 150_000 }, async () => {
    const opened = await openPage(browser, srv.dashboard.replace(/\/$/, ''), DESKTOP);
    watches.push(opened.watch);
    // swagger-ui is a large page: on a busy machine it takes longer than Playwright's default 30 s.
    await opened.page.goto('/api/v1/docs/', { timeout: 60_000 });
    await opened.page.getByText('bscups admin API').first().waitFor({ timeout: 60_000 });
    await opened.context.close();
  });

  it('had no console errors, asked nothing of another origin, and every answer carried the CSP header', () => {
    for (const w of watches) {
      expect(w.errors).toEqual([]);
      expect(w.withoutCsp).toEqual([]);
      expect(w.offsite).toEqual([]);
      expect(w.responses).toBeGreaterThan(3);
    }
  });
});

describe('serve names the dashboard', () => {
  it('prints the dashboard address with the first-start admin key, and the address answers with the CSP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bscups-dash-serve-'));
    const child = spawn(process.execPath, [...cliEntryArgs(), 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'], {
      env: { ...process.env, BSCUPS_LOG_LEVEL: 'warn', BSCUPS_DATABASE: join(dir, 'r.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const lines: string[] = [];
      for await (const line of createInterface({ input: child.stdout })) {
        lines.push(line);
        if (/^\s+bsk_/.test(line)) break;
      }
      const dashboard = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/) \(sign in with the key below\)$/.exec(lines.find((l) => l.startsWith('dashboard: ')) ?? '')?.[1];
      expect(dashboard, lines.join('\n')).toBeDefined();
      expect(lines.at(-1)).toMatch(/^\s+bsk_\w+\.[\w-]+$/);
      const page = await fetch(dashboard as string);
      // 200 once `npm run build` made dist/web; before that, a page saying to build it.
      expect([200, 503]).toContain(page.status);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await page.text()).toMatch(page.status === 200 ? /<div id="app">/ : /npm run build/);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
