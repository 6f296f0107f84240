import { api, get } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { badge, field, fill, h, table, time } from '../dom.js';
import { u } from '../text.js';

interface ApiKey {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** API keys (admin): create one (its secret is shown once, here, and never again) and revoke keys. */
export function accessPage(ctx: AppContext): Page {
  const list = h('div');
  const created = h('div', { 'aria-live': 'polite' });
  const name = h('input', { type: 'text', autocomplete: 'off', required: true, maxlength: 100 });
  const role = h('select', null, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r }, r)));
  const expires = h('input', { type: 'text', autocomplete: 'off', placeholder: '90d' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'key-new' },
    h('h2', { id: 'key-new' }, 'Create an API key'),
    h('div', { class: 'filters' }, field('Key name', name), field('Role', role), field('Expires after', expires, 'e.g. 90d; empty: never')),
    h('button', { type: 'submit' }, 'Create key'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (name.value.trim() === '') return;
    const body = { name: name.value.trim(), role: role.value, ...(expires.value.trim() === '' ? {} : { expires: expires.value.trim() }) };
    void ctx.act('Creating the key', async () => {
      const r = await api<{ key: ApiKey; secret: string }>('POST', '/api-keys', body);
      name.value = '';
      expires.value = '';
      const secret = h('input', { type: 'text', readonly: true, value: r.secret, class: 'mono secret', 'aria-label': `Key for ${r.key.name}`, spellcheck: 'false' });
      const dismiss = h('button', { type: 'button', class: 'secondary small' }, 'I have copied it');
      dismiss.addEventListener('click', () => fill(created));
      fill(
        created,
        h('div', { class: 'card notice', role: 'alert', 'data-testid': 'new-key' }, h('p', null, h('strong', null, 'Copy this key now: '), 'it is shown once and cannot be read again. Key ', u(r.key.name), ` (${r.key.role}):`), secret, dismiss),
      );
      secret.select();
    });
  });
  const el = h('section', { 'aria-labelledby': 'ak-title' }, h('h1', { id: 'ak-title' }, 'API keys'), created, list, form);
  return {
    title: 'API keys',
    el,
    async refresh() {
      const keys = await get<ApiKey[]>('/api-keys');
      fill(
        list,
        table(
          ['Name', 'Role', 'ID', 'Created', 'Expires', 'Status', ''],
          keys.map((k) => {
            const revoke = h('button', { type: 'button', class: 'danger small', 'aria-label': `Revoke key ${k.id}` }, 'Revoke');
            revoke.addEventListener('click', () => {
              void ctx.confirm(`Revoke the API key ${k.id}? Every client using it is refused from now on.`, 'Revoke').then((yes) => {
                if (yes) void ctx.act(`Revoking ${k.id}`, () => api('DELETE', `/api-keys/${encodeURIComponent(k.id)}`));
              });
            });
            return [
              u(k.name, 'clip'),
              k.role,
              h('span', { class: 'mono' }, k.id),
              [time(k.createdAt), k.createdBy === null ? '' : [' by ', u(k.createdBy)]],
              time(k.expiresAt, 'never'),
              k.revokedAt === null ? badge('active', 'ok') : [badge('revoked', 'muted'), ' ', time(k.revokedAt)],
              k.revokedAt === null && k.id !== ctx.me.keyId ? revoke : '',
            ];
          }),
          'API keys',
          'No API keys.',
        ),
      );
    },
  };
}
