import { api, ApiError, storedKey, storeKey, whenUnauthenticated, type Me } from './api.js';
import { confirmDialog, errorText, type AppContext, type Page } from './app.js';
import { fill, h } from './dom.js';
import { accessPage } from './pages/access.js';
import { auditPage } from './pages/audit.js';
import { firmwarePage } from './pages/firmware.js';
import { overviewPage } from './pages/overview.js';
import { rolloutPage } from './pages/rollout.js';
import { rolloutsPage } from './pages/rollouts.js';
import { signInPage } from './pages/sign-in.js';
import { stationPage } from './pages/station.js';
import { stationsPage } from './pages/stations.js';
import { unknownPage } from './pages/unknown.js';
import { webhooksPage } from './pages/webhooks.js';
import { visible } from './text.js';
import './style.css';

/** How often the visible page asks the API again (a few seconds: the server is the only truth). */
const POLL_MS = 2000;

const NAV: readonly [string, string][] = [
  ['#/', 'Overview'],
  ['#/stations', 'Stations'],
  ['#/rollouts', 'Rollouts'],
  ['#/firmware', 'Firmware'],
  ['#/unknown', 'Unknown stations'],
  ['#/audit', 'Audit log'],
];
/** Pages only an admin key can use. */
const ADMIN_NAV: readonly [string, string][] = [
  ['#/access', 'API keys'],
  ['#/webhooks', 'Webhooks'],
];

const root = document.getElementById('app') as HTMLElement;
const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
let timer: number | undefined;
let clearStatus: number | undefined;
let current: Page | null = null;
let generation = 0;

function route(ctx: AppContext, hash: string): Page {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(search);
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return overviewPage(ctx);
    case 'stations':
      return parts[1] === undefined ? stationsPage(ctx, params) : stationPage(ctx, parts[1]);
    case 'rollouts':
      return parts[1] === undefined ? rolloutsPage(ctx, params) : rolloutPage(ctx, parts[1]);
    case 'access':
      return accessPage(ctx);
    case 'webhooks':
      return webhooksPage(ctx);
    case 'firmware':
      return firmwarePage(ctx);
    case 'unknown':
      return unknownPage(ctx);
    case 'audit':
      return auditPage(ctx);
    default:
      return { title: 'Not found', el: h('section', null, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/' }, 'Back to the overview'))), refresh: async () => undefined };
  }
}

function schedule(page: Page, gen: number): void {
  window.clearTimeout(timer);
  timer = window.setTimeout(() => {
    if (gen !== generation) return;
    const run = document.hidden ? Promise.resolve() : page.refresh();
    run.then(
      () => status.classList.remove('stale'),
      (e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401)) status.classList.add('stale');
      },
    ).finally(() => {
      if (gen === generation) schedule(page, gen);
    });
  }, POLL_MS);
}

function render(me: Me): void {
  const ctx: AppContext = {
    me,
    canChange: me.role !== 'viewer',
    go: (hash) => {
      // pushState fires no hashchange: the new page becomes current at once, so nothing
      // refreshes the page being left (a removed station would answer 404).
      if (location.hash !== hash) history.pushState(null, '', hash);
      void show();
    },
    confirm: confirmDialog,
    notify(message, kind = 'ok') {
      status.className = `status status-${kind}`;
      // Error messages may quote what was typed or reported: shown with invisible characters as escapes.
      status.textContent = visible(message);
      window.clearTimeout(clearStatus);
      clearStatus = window.setTimeout(() => (status.textContent = ''), 10_000);
    },
    async act(what, run) {
      const page = current;
      try {
        const outcome = await run();
        ctx.notify(typeof outcome === 'string' ? outcome : `${what}: done`);
      } catch (e) {
        ctx.notify(`${what} failed: ${errorText(e)}`, 'error');
      }
      if (current === page) await page?.refresh().catch(() => undefined);
    },
  };
  const main = h('main', { id: 'main', tabindex: '-1' });
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    h('ul', null, [...NAV, ...(me.role === 'admin' ? ADMIN_NAV : [])].map(([href, label]) => h('li', null, h('a', { href, 'data-nav': href }, label)))),
  );
  const signOut = h('button', { type: 'button', class: 'secondary small' }, 'Sign out');
  signOut.addEventListener('click', () => {
    storeKey(null);
    start();
  });
  const skip = h('button', { type: 'button', class: 'skip' }, 'Skip to content');
  skip.addEventListener('click', () => main.focus());
  fill(
    root,
    skip,
    h('header', { class: 'top' }, h('a', { href: '#/', class: 'brand' }, 'bscups'), nav, h('div', { class: 'who' }, h('span', null, h('bdi', null, visible(me.name)), ` · ${me.role}`), signOut)),
    status,
    main,
  );
  async function show(): Promise<void> {
    const gen = ++generation;
    const page = route(ctx, location.hash);
    current = page;
    // An outcome belongs to the page it happened on: it does not follow the operator elsewhere.
    window.clearTimeout(clearStatus);
    status.textContent = '';
    document.title = `${page.title} · bscups`;
    for (const a of nav.querySelectorAll('a')) {
      const href = a.getAttribute('data-nav') ?? '';
      const here = href === '#/' ? location.hash === '' || location.hash === '#/' : location.hash.startsWith(href);
      if (here) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    fill(main, page.el);
    try {
      await page.refresh();
    } catch (e) {
      if (gen === generation) ctx.notify(errorText(e), 'error');
    }
    if (gen === generation) schedule(page, gen);
  }
  window.onhashchange = () => void show();
  void show();
}

/** Signs in with the stored key, or shows the sign-in form. */
function start(): void {
  window.clearTimeout(timer);
  generation++;
  window.onhashchange = null;
  const key = storedKey();
  if (key === null) {
    fill(root, signInPage((me) => render(me)));
    return;
  }
  api<Me>('GET', '/me').then(render, (e: unknown) => {
    // A refused key is forgotten (whenUnauthenticated); an unreachable server keeps it and says so.
    if (e instanceof ApiError && e.status === 401) return;
    const retry = h('button', { type: 'button' }, 'Try again');
    retry.addEventListener('click', start);
    fill(root, h('main', { id: 'main', class: 'center' }, h('div', { class: 'card', role: 'alert' }, h('p', null, `The API cannot be reached: ${errorText(e)}`), retry)));
  });
}

whenUnauthenticated(() => {
  storeKey(null);
  start();
});
start();
