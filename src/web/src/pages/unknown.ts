import { api, get } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { fill, h, table, time } from '../dom.js';
import type { UnknownStation } from '../types.js';

export function unknownPage(ctx: AppContext): Page {
  const list = h('div');
  const el = h('section', { 'aria-labelledby': 'un-title' }, h('h1', { id: 'un-title' }, 'Unknown stations'), h('p', { class: 'meta' }, 'EUIs that asked this server but are not registered.'), list);
  return {
    title: 'Unknown stations',
    el,
    async refresh() {
      const unknown = await get<UnknownStation[]>('/unknown-stations');
      fill(
        list,
        table(
          ['EUI', 'Requests', 'First seen', 'Last seen', 'From', ''],
          unknown.map((u) => {
            const register = h('button', { type: 'button', class: 'small', 'aria-label': `Register ${u.eui}` }, 'Register');
            register.addEventListener('click', () => void ctx.act(`Registering ${u.eui}`, () => api('POST', '/stations', { eui: u.eui })));
            return [h('span', { class: 'mono' }, u.eui), u.count, time(u.firstSeenAt), time(u.lastSeenAt), u.lastRemoteAddress ?? '', ctx.canChange ? register : ''];
          }),
          'Unknown stations',
          'No unknown station has asked.',
        ),
      );
    },
  };
}
