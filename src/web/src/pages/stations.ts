import { get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { badge, cursorPager, field, fill, h, time } from '../dom.js';
import type { Page as ApiPage, Station } from '../types.js';
import { healthBadge, healthSelect } from '../health.js';

const STATES = ['never_seen', 'problem', 'failed', 'pending_config', 'offered', 'pending_firmware', 'in_sync'];
const PAGE = 25;

type SortKey = 'eui' | 'name' | 'lastSeen';

export function stateBadge(state: string): HTMLElement {
  const kind = state === 'in_sync' ? 'ok' : state === 'failed' || state === 'problem' ? 'bad' : state === 'never_seen' ? 'muted' : 'warn';
  return badge(state, kind);
}

/** The API's paged, filtered listing; filters live in the URL fragment so a view can be shared (never the key). */
export function stationsPage(_ctx: AppContext, params: URLSearchParams): Page {
  const f = {
    q: params.get('q') ?? '',
    state: params.get('state') ?? '',
    label: params.get('label') ?? '',
    silent: params.get('silent') ?? '',
    health: params.get('health') ?? '',
    sort: (params.get('sort') as SortKey | null) ?? 'eui',
    order: params.get('order') === 'desc' ? 'desc' : 'asc',
  };
  const cursors: (string | undefined)[] = [undefined];
  const search = h('input', { type: 'search', value: f.q, placeholder: 'EUI or name', autocomplete: 'off' });
  const state = h('select', null, h('option', { value: '' }, 'Any state'), STATES.map((s) => h('option', { value: s, selected: s === f.state }, s.replace(/_/g, ' '))));
  const label = h('input', { type: 'text', value: f.label, placeholder: 'site=north', autocomplete: 'off' });
  const silent = h('input', { type: 'text', value: f.silent, placeholder: '26h', autocomplete: 'off', size: 6 });
  const health = healthSelect(f.health);
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'false' });
  const pager = h('div', { class: 'pager' });

  const changed = () => {
    f.q = search.value.trim();
    f.state = state.value;
    f.label = label.value.trim();
    f.silent = silent.value.trim();
    f.health = health.value;
    cursors.splice(0, cursors.length, undefined);
    const q = query({ q: f.q, state: f.state, label: f.label, silent: f.silent, health: f.health, sort: f.sort === 'eui' ? '' : f.sort, order: f.order === 'asc' ? '' : f.order });
    // Keeps the filters in the address without a page change (replaceState fires no hashchange).
    history.replaceState(null, '', `#/stations${q}`);
    void refresh();
  };
  let debounce: number | undefined;
  search.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(changed, 250);
  });
  for (const c of [state, label, silent, health]) c.addEventListener('change', changed);

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

  async function refresh(): Promise<void> {
    const cursor = cursors[cursors.length - 1];
    const label = f.label === '' ? [] : f.label.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const page = await get<ApiPage<Station>>(
      `/stations${query({ q: f.q, state: f.state, label, silent: f.silent, health: f.health, sort: f.sort, order: f.order, limit: String(PAGE), cursor })}`,
    );
    fill(
      body,
      page.items.length === 0
        ? h('p', { class: 'empty' }, 'No station matches these filters.')
        : h(
            'div',
            { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Stations' },
            h(
              'table',
              { 'data-testid': 'stations' },
              h('caption', { class: 'sr-only' }, 'Stations'),
              h('thead', null, h('tr', null, sortButton('eui', 'EUI'), sortButton('name', 'Name'), h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Health'), h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Package'), h('th', { scope: 'col' }, 'Labels'), sortButton('lastSeen', 'Last seen'))),
              h(
                'tbody',
                null,
                page.items.map((s) =>
                  h(
                    'tr',
                    { 'data-eui': s.eui },
                    h('td', null, h('a', { href: `#/stations/${s.eui}`, class: 'mono' }, s.eui)),
                    h('td', null, s.name ?? ''),
                    h('td', null, stateBadge(s.syncState)),
                    h('td', null, healthBadge(s.health)),
                    h('td', null, s.reported?.model ?? ''),
                    h('td', null, s.reported?.package ?? ''),
                    h('td', null, Object.entries(s.labels).map(([k, v]) => h('span', { class: 'label' }, `${k}=${v}`))),
                    h('td', null, time(s.lastSeenAt, 'never')),
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
      field('Health', health),
    ),
    body,
    pager,
  );
  el.querySelector('form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    changed();
  });
  return { title: 'Stations', el, refresh };
}
