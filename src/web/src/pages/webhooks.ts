import { WEBHOOK_EVENTS } from '../../../core/webhook-events.js';
import { api, get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { badge, field, fill, h, table, time } from '../dom.js';
import { u, visible } from '../text.js';

interface Webhook {
  id: string;
  url: string;
  events: 'all' | string[];
  secret: 'set' | null;
  format: 'json' | 'slack';
  enabled: boolean;
  consecutiveFailures: number;
  createdAt: string;
}

interface Delivery {
  id: string;
  webhookId: string;
  eventType: string;
  attempts: number;
  state: 'pending' | 'delivered' | 'failed' | 'dead';
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

const STATE_BADGE: Readonly<Record<Delivery['state'], string>> = { pending: 'muted', delivered: 'ok', failed: 'bad', dead: 'bad' };

/** A checkbox with its label beside it. */
function check(label: string, value: string): { box: HTMLInputElement; el: HTMLElement } {
  const box = h('input', { type: 'checkbox', value });
  return { box, el: h('label', { class: 'check' }, box, ` ${label}`) };
}

/**
 * Webhooks (admin): add one (URL, events, secret, format), test or remove it,
 * and follow its deliveries, failed ones alone on request. The secret is sent
 * once and never shown again: the API answers "set".
 */
export function webhooksPage(ctx: AppContext): Page {
  const list = h('div');
  const deliveries = h('div');
  const url = h('input', { type: 'url', autocomplete: 'off', required: true, placeholder: 'https://hooks.example.com/bscups', maxlength: 2000 });
  const secret = h('input', { type: 'password', autocomplete: 'new-password', maxlength: 1000 });
  const format = h('select', null, h('option', { value: 'json' }, 'JSON (signed event)'), h('option', { value: 'slack' }, 'Slack (readable text)'));
  const all = check('All events, including ones added later', 'all');
  const each = WEBHOOK_EVENTS.map((e) => check(e, e));
  all.box.checked = true;
  const sync = () => {
    for (const c of each) c.box.disabled = all.box.checked;
  };
  all.box.addEventListener('change', sync);
  sync();
  const events = h('fieldset', { class: 'labels-edit' }, h('legend', null, 'Events'), all.el, h('div', { class: 'checks' }, each.map((c) => c.el)));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'wh-new' },
    h('h2', { id: 'wh-new' }, 'Add a webhook'),
    h('div', { class: 'filters' }, field('Receiver URL', url, 'http:// or https:// only; redirects are not followed'), field('Secret', secret, 'signs each delivery (X-Bscups-Signature); empty: unsigned'), field('Format', format)),
    events,
    h('button', { type: 'submit' }, 'Add webhook'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = all.box.checked ? 'all' : each.filter((c) => c.box.checked).map((c) => c.box.value).join(',');
    // An empty choice goes to the API, which says what it accepts.
    const body = { url: url.value.trim(), events: chosen, format: format.value, ...(secret.value === '' ? {} : { secret: secret.value }) };
    void ctx.act('Adding the webhook', async () => {
      const added = await api<Webhook>('POST', '/webhooks', body);
      url.value = '';
      secret.value = '';
      return `Webhook ${added.id} added`;
    });
  });

  const onlyFailed = check('Failed only', 'failed');
  const which = h('select', null, h('option', { value: '' }, 'All webhooks'));
  onlyFailed.box.addEventListener('change', () => void refresh());
  which.addEventListener('change', () => void refresh());
  const deliveryFilters = h('div', { class: 'filters' }, field('Webhook', which), h('div', { class: 'field' }, onlyFailed.el));

  const el = h(
    'section',
    { 'aria-labelledby': 'wh-title' },
    h('h1', { id: 'wh-title' }, 'Webhooks'),
    h('p', { class: 'meta' }, 'Each event is POSTed to the receivers subscribed to it, retried with back-off for a day; a receiver failing many times in a row is disabled.'),
    list,
    form,
    h('h2', { id: 'wh-deliveries' }, 'Deliveries'),
    deliveryFilters,
    deliveries,
  );

  async function refresh(): Promise<void> {
    const [hooks, sent] = await Promise.all([
      get<Webhook[]>('/webhooks'),
      get<Delivery[]>(`/webhook-deliveries${query({ webhook: which.value, failed: onlyFailed.box.checked ? 'true' : undefined, limit: '100' })}`),
    ]);
    fill(
      list,
      table(
        ['Receiver', 'Events', 'Format', 'Signed', 'Status', 'Created', ''],
        hooks.map((w) => {
          const test = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Send a test event to webhook ${w.id}` }, 'Test');
          test.addEventListener('click', () => void ctx.act(`Testing ${w.id}`, async () => (await api('POST', `/webhooks/${encodeURIComponent(w.id)}/test`), `Test event queued for ${w.id}: see its delivery below`)));
          const remove = h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove webhook ${w.id}` }, 'Remove');
          remove.addEventListener('click', () => {
            void ctx.confirm(`Remove the webhook ${w.id} (${w.url})? Its queued deliveries are dropped.`, 'Remove').then((yes) => {
              if (yes) void ctx.act(`Removing ${w.id}`, () => api('DELETE', `/webhooks/${encodeURIComponent(w.id)}`));
            });
          });
          return [
            [u(w.url, 'clip'), h('br'), h('span', { class: 'mono meta' }, w.id)],
            w.events === 'all' ? 'all' : w.events.join(', '),
            w.format,
            w.secret === 'set' ? 'yes' : 'no',
            w.enabled ? badge(w.consecutiveFailures > 0 ? `failing (${w.consecutiveFailures})` : 'enabled', w.consecutiveFailures > 0 ? 'warn' : 'ok') : badge(`disabled after ${w.consecutiveFailures} failures`, 'bad'),
            time(w.createdAt),
            [w.enabled ? test : '', ' ', remove],
          ];
        }),
        'Webhooks',
        'No webhook yet: add one below.',
      ),
    );
    // The filter's options change only with the webhooks (an open list is not rebuilt under the pointer); its choice stays.
    const ids = hooks.map((w) => w.id).join(' ');
    if (ids !== which.dataset['ids']) {
      const chosen = which.value;
      which.dataset['ids'] = ids;
      fill(which, h('option', { value: '' }, 'All webhooks'), hooks.map((w) => h('option', { value: w.id, selected: w.id === chosen }, `${w.id} (${visible(w.url)})`)));
    }
    fill(
      deliveries,
      table(
        ['Event', 'Webhook', 'State', 'Attempts', 'Last answer', 'Next attempt', 'Queued'],
        sent.map((d) => [
          h('span', { class: 'mono' }, d.eventType),
          h('span', { class: 'mono' }, d.webhookId),
          badge(d.state, STATE_BADGE[d.state]),
          d.attempts,
          d.lastError !== null ? u(d.lastError, 'clip') : d.lastStatus === null ? '—' : String(d.lastStatus),
          d.state === 'pending' ? time(d.nextAttemptAt) : '—',
          time(d.createdAt),
        ]),
        'Webhook deliveries',
        onlyFailed.box.checked ? 'No failed delivery.' : 'Nothing delivered yet.',
      ),
    );
  }
  return { title: 'Webhooks', el, refresh };
}
