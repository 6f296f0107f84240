import { get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { badge, cursorPager, field, fill, h, time } from '../dom.js';
import { labelChip, u } from '../text.js';
import type { Page as ApiPage, Station } from '../types.js';
import { bulkLabelsForm, downloadExport } from './stations-bulk.js';
import { healthBadge, healthSelect } from '../health.js';
import { complianceSelect } from '../compliance.js';

const STATES = ['never_seen', 'problem', 'failed', 'pending_config', 'offered', 'pending_firmware', 'in_sync'];
const PAGE_SIZES = ['25', '50', '100', '250'];

type SortKey = 'eui' | 'name' | 'lastSeen';

export function stateBadge(state: string): HTMLElement {
  const kind = state === 'in_sync' ? 'ok' : state === 'failed' || state === 'problem' ? 'bad' : state === 'never_seen' ? 'muted' : 'warn';
  return badge(state, kind);
}

/** The filters of the listing, as the API names them (the address, the count, the export and the bulk action share them). */
export interface StationFilter {
  q: string;
  state: string;
  label: string;
  silent: string;
  model: string;
  package: string;
  health: string;
  compliance: string;
}

export const FILTER_KEYS = ['q', 'state', 'label', 'silent', 'model', 'package', 'health', 'compliance'] as const;

/** The filter as API query parameters: labels comma-separated in the form, repeated in the query. */
export function filterParams(f: StationFilter): Record<string, string | string[]> {
  return {
    q: f.q,
    state: f.state,
    label: f.label === '' ? [] : f.label.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    silent: f.silent,
    model: f.model,
    package: f.package,
    health: f.health,
    compliance: f.compliance,
  };
}

/** The API's paged, filtered listing; filters live in the URL fragment so a view can be shared (never the key). */
export function stationsPage(ctx: AppContext, params: URLSearchParams): Page {
  const f: StationFilter & { sort: SortKey; order: string; size: string } = {
    q: params.get('q') ?? '',
    state: params.get('state') ?? '',
    label: params.get('label') ?? '',
    silent: params.get('silent') ?? '',
    model: params.get('model') ?? '',
    package: params.get('package') ?? '',
    health: params.get('health') ?? '',
    compliance: params.get('compliance') ?? '',
    sort: (params.get('sort') as SortKey | null) ?? 'eui',
    order: params.get('order') === 'desc' ? 'desc' : 'asc',
    size: PAGE_SIZES.includes(params.get('size') ?? '') ? (params.get('size') as string) : '25',
  };
  const cursors: (string | undefined)[] = [undefined];
  const search = h('input', { type: 'search', value: f.q, placeholder: 'EUI or name', autocomplete: 'off' });
  const state = h('select', null, h('option', { value: '' }, 'Any state'), STATES.map((s) => h('option', { value: s, selected: s === f.state }, s.replace(/_/g, ' '))));
  const label = h('input', { type: 'text', value: f.label, placeholder: 'site=north', autocomplete: 'off' });
  const silent = h('input', { type: 'text', value: f.silent, placeholder: '26h', autocomplete: 'off', size: 6 });
  const model = h('input', { type: 'text', value: f.model, placeholder: 'as reported', autocomplete: 'off' });
  const pkg = h('input', { type: 'text', value: f.package, placeholder: 'as reported', autocomplete: 'off' });
  const size = h('select', null, PAGE_SIZES.map((n) => h('option', { value: n, selected: n === f.size }, n)));
  const total = h('p', { class: 'meta', 'data-testid': 'station-total', 'aria-live': 'polite' });
  const health = healthSelect(f.health);
  const compliance = complianceSelect(f.compliance);
  const body = h('div', { 'aria-busy': 'false' });
  const pager = h('div', { class: 'pager' });

  const address = () => query({ ...filterParams(f), label: f.label, sort: f.sort === 'eui' ? '' : f.sort, order: f.order === 'asc' ? '' : f.order, size: f.size === '25' ? '' : f.size });
  const changed = () => {
    f.q = search.value.trim();
    f.state = state.value;
    f.label = label.value.trim();
    f.silent = silent.value.trim();
    f.model = model.value.trim();
    f.package = pkg.value.trim();
    f.size = size.value;
    f.health = health.value;
    f.compliance = compliance.value;
    cursors.splice(0, cursors.length, undefined);
    // Keeps the filters in the address without a page change (replaceState fires no hashchange).
    history.replaceState(null, '', `#/stations${address()}`);
    void refresh();
  };
  let debounce: number | undefined;
  search.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(changed, 250);
  });
  for (const c of [state, label, silent, model, pkg, size, health, compliance]) c.addEventListener('change', changed);

  const sortButton = (key: SortKey, text: string) => {
    const active = f.sort === key;
    const b = h('button', { type: 'button', class: 'sort' }, text, active ? (f.order === 'asc' ? ' ▲' : ' ▼') : '');
    b.addEventListener('click', () => {
      f.order = f.sort === key && f.order === 'asc' ? 'desc' : 'asc';
      f.sort = key;
      changed();
    });
    return h('th', { scope: 'col', 'aria-sort': active ? (f.order === 'asc' ? 'ascending' : 'descending') : 'none' }, b);
  };

  const exportButton = h('button', { type: 'button', class: 'secondary' }, 'Export these stations (CSV)');
  exportButton.addEventListener('click', () => void ctx.act('Exporting', () => downloadExport(filterParams(f))));
  const rolloutLink = h('a', { class: 'button-link' }, 'Start a rollout on this filter');
  const rolloutNote = h('small', { class: 'hint' });
  const tools = h(
    'div',
    { class: 'toolbar' },
    exportButton,
    ctx.canChange ? [rolloutLink, rolloutNote] : null,
  );
  const bulk = ctx.canChange ? bulkLabelsForm(ctx, () => filterParams(f), () => total.textContent ?? '') : null;

  async function refresh(): Promise<void> {
    const cursor = cursors[cursors.length - 1];
    const params = filterParams(f);
    const [page, count] = await Promise.all([
      get<ApiPage<Station>>(`/stations${query({ ...params, sort: f.sort, order: f.order, limit: f.size, cursor })}`),
      get<{ total: number }>(`/stations/count${query(params)}`),
    ]);
    const first = (cursors.length - 1) * Number(f.size) + 1;
    fill(total, count.total === 0 ? 'No station matches.' : `${count.total} station${count.total === 1 ? '' : 's'}${page.items.length === 0 ? '' : `, showing ${first}–${first + page.items.length - 1}`}`);
    // A rollout selects by labels, model and package; search, state and silence are this list's own filters.
    rolloutLink.setAttribute('href', `#/rollouts${query({ label: f.label, model: f.model, package: f.package })}`);
    fill(rolloutNote, f.q !== '' || f.state !== '' || f.silent !== '' || f.health !== '' || f.compliance !== '' ? 'A rollout selects by labels, model and package only: search, state, silence, health and compliance are not carried over.' : '');
    fill(
      body,
      page.items.length === 0
        ? h('p', { class: 'empty' }, 'No station matches these filters.')
        : h(
            'div',
            { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Stations' },
            h(
              'table',
              { 'data-testid': 'stations', class: 'stations' },
              h('caption', { class: 'sr-only' }, 'Stations'),
              h('thead', null, h('tr', null, sortButton('eui', 'EUI'), sortButton('name', 'Name'), h('th', { scope: 'col' }, 'State, health'), h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Package'), h('th', { scope: 'col' }, 'Labels'), sortButton('lastSeen', 'Last seen'))),
              h(
                'tbody',
                null,
                page.items.map((s) =>
                  h(
                    'tr',
                    { 'data-eui': s.eui },
                    h('td', null, h('a', { href: `#/stations/${s.eui}`, class: 'mono eui' }, s.eui)),
                    h('td', null, u(s.name, 'clip')),
                    // Health shares the state's cell (it wraps under it on a narrow table): one column fewer keeps the table within a desktop frame.
                    h('td', { class: 'state' }, stateBadge(s.syncState), ' ', healthBadge(s.health)),
                    h('td', null, u(s.reported?.model, 'clip')),
                    h('td', null, u(s.reported?.package, 'clip')),
                    h('td', { class: 'labels' }, Object.entries(s.labels).map(([k, v]) => labelChip(k, v))),
                    h('td', { class: 'nowrap' }, time(s.lastSeenAt, 'never')),
                  ),
                ),
              ),
            ),
          ),
    );
    fill(pager, cursorPager(cursors, page.nextCursor, refresh));
  }

  const el = h(
    'section',
    { 'aria-labelledby': 'st-title' },
    h('h1', { id: 'st-title' }, 'Stations'),
    h(
      'form',
      { class: 'filters', role: 'search', 'aria-label': 'Filter stations' },
      field('Search', search),
      field('State', state),
      field('Label', label, 'k=v, k!=v, k or !k; comma-separate'),
      field('Silent for more than', silent),
      field('Model', model),
      field('Package', pkg),
      field('Health', health),
      field('Firmware compliance', compliance),
      field('Per page', size),
    ),
    total,
    tools,
    body,
    pager,
    bulk,
  );
  el.querySelector('form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    changed();
  });
  return { title: 'Stations', el, refresh };
}
