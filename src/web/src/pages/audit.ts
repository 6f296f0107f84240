import { get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { cursorPager, fill, h, table, time } from '../dom.js';
import { u } from '../text.js';
import type { AuditEntry, Page as ApiPage } from '../types.js';

export function auditPage(_ctx: AppContext): Page {
  const list = h('div');
  const pager = h('div', { class: 'pager' });
  const cursors: (string | undefined)[] = [undefined];
  async function refresh(): Promise<void> {
    const page = await get<ApiPage<AuditEntry>>(`/audit${query({ limit: '50', cursor: cursors[cursors.length - 1] })}`);
    fill(
      list,
      table(
        ['When', 'Who', 'Action', 'Target', 'From', 'Detail'],
        page.items.map((a) => [time(a.at), [u(a.actor), ` (${a.role}, ${a.via})`], h('span', { class: 'mono' }, u(a.action)), u(a.target, 'mono eui'), u(a.remoteAddress), h('span', { class: 'mono detail' }, a.detail === null ? '' : u(JSON.stringify(a.detail), 'wrap'))]),
        'Audit log',
        'No changes recorded yet.',
      ),
    );
    fill(pager, cursorPager(cursors, page.nextCursor, refresh, ['← Newer', 'Older →']));
  }
  return { title: 'Audit log', el: h('section', { 'aria-labelledby': 'au-title' }, h('h1', { id: 'au-title' }, 'Audit log'), list, pager), refresh };
}
