import { api, ApiError, query, storedKey } from '../api.js';
import type { AppContext } from '../app.js';
import { field, h } from '../dom.js';

type Params = Record<string, string | string[]>;

/** The filter without empty values (an empty model would match no station). */
function compact(params: Params): Params {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => (Array.isArray(v) ? v.length > 0 : v !== '')));
}

/**
 * Downloads the stations a filter matches as the import CSV: fetched with the
 * key in the Authorization header (a plain link would carry no key), then
 * handed to the browser as a file.
 */
export async function downloadExport(params: Params): Promise<void> {
  const key = storedKey();
  const res = await fetch(`/api/v1/stations/export${query({ ...params, format: 'csv' })}`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(res.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `HTTP ${res.status}`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: 'stations.csv', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // The browser has taken the file once the click is handled.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Sets or removes a label on every station the current filter matches, after a confirmation naming how many. */
export function bulkLabelsForm(ctx: AppContext, filter: () => Params, totalText: () => string): HTMLElement {
  const setKey = h('input', { type: 'text', autocomplete: 'off', placeholder: 'site' });
  const setValue = h('input', { type: 'text', autocomplete: 'off', placeholder: 'north' });
  const removeKey = h('input', { type: 'text', autocomplete: 'off', placeholder: 'tier' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'bulk-title' },
    h('h2', { id: 'bulk-title' }, 'Change labels of every station shown by this filter'),
    h('div', { class: 'filters' }, field('Set label', setKey, 'key'), field('to value', setValue), field('Remove label', removeKey, 'key')),
    h('button', { type: 'submit' }, 'Apply to matching stations'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const set = setKey.value.trim() === '' ? {} : { [setKey.value.trim()]: setValue.value };
    const remove = removeKey.value.trim() === '' ? [] : [removeKey.value.trim()];
    if (Object.keys(set).length === 0 && remove.length === 0) {
      ctx.notify('Give a label to set or to remove.', 'error');
      return;
    }
    const what = [...Object.entries(set).map(([k, v]) => `set ${k}=${v}`), ...remove.map((k) => `remove ${k}`)].join(' and ');
    void ctx.confirm(`${what[0]?.toUpperCase() ?? ''}${what.slice(1)} on every station this filter matches (${totalText() || 'see the count'})?`, 'Apply').then((yes) => {
      if (yes)
        void ctx.act('Changing labels', async () => {
          const r = await api<{ stations: number }>('POST', '/stations/labels', { filter: compact(filter()), set, remove });
          setKey.value = '';
          setValue.value = '';
          removeKey.value = '';
          return `Labels changed on ${r.stations} station${r.stations === 1 ? '' : 's'}.`;
        });
    });
  });
  return form;
}
