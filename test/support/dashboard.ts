import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { loadConfig } from '../../src/config.js';
import { serve, type RunningServer } from '../../src/http/serve.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createSimulatedStation, initStationHome, type SimulatedStation } from '../../src/simulator/index.js';

/** Debian's Chromium, as CI installs it; flags keep it off the (closed) network. */
export const CHROMIUM = process.env.BSCUPS_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Builds src/web with the same Vite the package build uses, into a folder of the test's own. */
export async function buildDashboard(outDir: string): Promise<void> {
  await build({ root: join(import.meta.dirname, '../../src/web'), configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
}

export interface DashboardServer {
  readonly dir: string;
  readonly runtime: Runtime;
  readonly server: RunningServer;
  /** The station listener (simulated stations poll it). */
  readonly stationUrl: string;
  /** The dashboard, e.g. http://127.0.0.1:41234/ */
  readonly dashboard: string;
  readonly adminKey: string;
  /** Env for CLI child processes: this server's registry, blobs and station CA folder. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** A real bscups serve (SQLite, fs blobs) whose admin listener serves a freshly built dashboard; rollouts advance every 200 ms. */
export async function startDashboardServer(): Promise<DashboardServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bscups-dashboard-'));
  const web = join(dir, 'web');
  await buildDashboard(web);
  const config = loadConfig({
    database: join(dir, 'registry.sqlite'),
    blobs: join(dir, 'blobs'),
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logLevel: 'silent',
    allowUnauthenticated: true,
    rolloutInterval: 0.2,
  });
  const runtime = await openRuntime(config, { serving: true });
  const server = await serve(runtime, config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), { dashboardDir: web, pkiDir: join(dir, 'pki') });
  if (server.admin.firstAdminKey === null) throw new Error('a fresh registry must create the first admin key');
  return {
    dir,
    runtime,
    server,
    stationUrl: server.url,
    dashboard: server.admin.dashboard,
    adminKey: server.admin.firstAdminKey,
    env: { BSCUPS_DATABASE: config.database, BSCUPS_BLOBS: config.blobs, BSCUPS_PKI_DIR: join(dir, 'pki') },
    async stop() {
      await server.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether the browser suite can run: on a laptop without Chromium it is skipped
 * with a loud warning; in CI (CI=true, where .ci/run installs it) a missing
 * browser is a failure, never a silent skip.
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env['CI'] === 'true') throw new Error(`${suite}: ${CHROMIUM} is missing and CI=true; install Debian's chromium (.ci/run does) or set BSCUPS_CHROMIUM`);
  console.warn(`\n*** ${suite} SKIPPED: no Chromium at ${CHROMIUM}. Install it (apt-get install chromium) or set BSCUPS_CHROMIUM. ***\n`);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** What a page did wrong: console errors, uncaught exceptions, and responses without the CSP header. */
export interface PageWatch {
  readonly errors: string[];
  readonly withoutCsp: string[];
  /** Requests to anywhere but the server: the pages must work air-gapped. */
  readonly offsite: string[];
  readonly responses: number;
}

export async function openPage(browser: Browser, origin: string, viewport = { width: 1280, height: 860 }): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ viewport, baseURL: origin });
  const page = await context.newPage();
  const watch = { errors: [] as string[], withoutCsp: [] as string[], offsite: [] as string[], responses: 0 };
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) watch.offsite.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') watch.errors.push(`console: ${m.text()}${m.location().url === '' ? '' : ` (${m.location().url})`}`);
  });
  page.on('pageerror', (e) => watch.errors.push(`page error: ${e.message}`));
  page.on('response', (r) => {
    if (!r.url().startsWith(origin)) return;
    watch.responses++;
    if (r.headers()['content-security-policy'] === undefined) watch.withoutCsp.push(r.url());
  });
  return { context, page, watch };
}

/** Signs in through the form, as an operator would, with the keyboard only. */
export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/');
  // By keyboard: the key field has focus on arrival, Enter submits.
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Simulated stations with home folders, polling a real server in the background until stopped. */
export interface SimFleet {
  readonly stations: SimulatedStation[];
  /** One exchange of every station. */
  round(): Promise<void>;
  /** Polls every station in the background, one round after another, until stop(). */
  start(): void;
  stop(): Promise<void>;
}

export async function simFleet(dir: string, url: string, euis: readonly string[], init: { tcUri?: string; version?: string; sigKey?: Buffer } = {}): Promise<SimFleet> {
  const stations: SimulatedStation[] = [];
  for (const eui of euis) {
    const home = join(dir, 'homes', eui);
    await mkdir(home, { recursive: true });
    await initStationHome(home, { cupsUri: url, version: init.version ?? '1.0.0', ...(init.tcUri === undefined ? {} : { tcUri: init.tcUri }), ...(init.sigKey === undefined ? {} : { sigKeys: [init.sigKey] }) });
    stations.push(createSimulatedStation({ home, eui, model: 'linux', timeoutMs: 20_000 }));
  }
  let running: Promise<void> | null = null;
  let stopping = false;
  const round = async () => {
    let next = 0;
    const worker = async () => {
      while (next < stations.length) await (stations[next++] as SimulatedStation).exchange();
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  };
  return {
    stations,
    round,
    start() {
      stopping = false;
      running ??= (async () => {
        while (!stopping) {
          await round();
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
    },
    async stop() {
      stopping = true;
      await running;
      running = null;
    },
  };
}
