import { api, get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { cursorPager, fill, h, table, time } from '../dom.js';
import { u as text } from '../text.js';
import type { Page as ApiPage, UnknownStation } from '../types.js';

export function unknownPage(ctx: AppContext): Page {
  const list = h('div');
  const pager = h('div', { class: 'pager' });
  const cursors: (string | undefined)[] = [undefined];
  const el = h('section', { 'aria-labelledby': 'un-title' }, h('h1', { id: 'un-title' }, 'Unknown stations'), h('p', { class: 'meta' }, 'EUIs that asked this server but are not registered.'), list, pager);
  async function refresh(): Promise<void> {
    const page = await get<ApiPage<UnknownStation>>(`/unknown-stations${query({ limit: '50', cursor: cursors[cursors.length - 1] })}`);
    const unknown = page.items;
    fill(
      list,
      table(
        ['EUI', 'Model', 'Package', 'Station version', 'Requests', 'First seen', 'Last seen', 'From', ''],
        unknown.map((u) => {
          const register = h('button', { type: 'button', class: 'small', 'aria-label': `Register ${u.eui}` }, 'Register');
          register.addEventListener('click', () => void ctx.act(`Registering ${u.eui}`, () => api('POST', '/stations', { eui: u.eui })));
          // What the station said about itself in its last request: enough to tell a known device from a stranger.
          const said = (k: string) => (typeof u.lastRequest[k] === 'string' ? (u.lastRequest[k] as string) : null);
          return [h('span', { class: 'mono eui' }, u.eui), text(said('model'), 'clip', '—'), text(said('package'), 'clip', '—'), text(said('station'), 'clip', '—'), u.count, time(u.firstSeenAt), time(u.lastSeenAt), text(u.lastRemoteAddress, '', '—'), ctx.canChange ? register : ''];
        }),
        'Unknown stations',
        'No unknown station has asked.',
      ),
    );
    fill(pager, cursors.length <= 1 && page.nextCursor === null ? null : cursorPager(cursors, page.nextCursor, refresh, ['← Newer', 'Older →']));
  }
  return { title: 'Unknown stations', el, refresh };
}
