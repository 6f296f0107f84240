import { api, get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { stackedBar } from '../charts.js';
import { badge, cursorPager, field, fill, h, time } from '../dom.js';
import { u, visible } from '../text.js';
import type { Page as ApiPage, FirmwarePackage, MemberCounts, Rollout } from '../types.js';

const PAGE = 20;

export const SEGMENTS: readonly [keyof MemberCounts, string][] = [
  ['confirmed', 'confirmed'],
  ['offered', 'offered'],
  ['failed', 'failed'],
  ['reverted', 'reverted'],
  ['skipped', 'skipped'],
];

/** A rollout's state in words (`rolled_back` → rolled back). */
export function stateWords(state: string): string {
  return state.replaceAll('_', ' ');
}

export function rolloutBadge(state: string): HTMLElement {
  return badge(stateWords(state), state === 'completed' ? 'ok' : state === 'halted' || state === 'aborted' ? 'bad' : state === 'running' || state === 'scheduled' ? 'info' : state === 'waiting_for_approval' ? 'warn' : 'muted');
}

/** Every station of the rollout, all waves together. */
export function rolloutTotal(r: Rollout): number {
  // `soaking` is a part of `offered`, not a state of its own.
  return Object.entries(r.totals).reduce((a, [k, n]) => (k === 'soaking' ? a : a + n), 0);
}

export function changeText(change: Record<string, unknown>): string {
  const kind = String(change['kind'] ?? '');
  if (kind === 'firmware') return `firmware ${String(change['package'] ?? '')}`;
  if (kind === 'credentials') return `${(change['categories'] as string[] | undefined ?? []).join(' and ')} credential rotation`;
  return `${kind} ${String(change['uri'] ?? '')}`.trim();
}

export function progress(r: Rollout, counts: MemberCounts, total: number, label: string): SVGSVGElement {
  return stackedBar(label, total, SEGMENTS.map(([key, text]) => ({ key, label: text, value: counts[key] })));
}

function createForm(ctx: AppContext, params: URLSearchParams): HTMLElement {
  const name = h('input', { type: 'text', autocomplete: 'off' });
  const kind = h('select', null, h('option', { value: 'firmware' }, 'Firmware package'), h('option', { value: 'tcUri' }, 'TC URI'), h('option', { value: 'cupsUri' }, 'CUPS URI'), h('option', { value: 'rotate:cups' }, 'Rotate CUPS credentials'), h('option', { value: 'rotate:tc' }, 'Rotate TC credentials'), h('option', { value: 'rotate:both' }, 'Rotate CUPS and TC credentials'));
  const pkg = h('select', null);
  const uri = h('input', { type: 'text', autocomplete: 'off', placeholder: 'wss://lns.example.com:6887' });
  const label = h('input', { type: 'text', autocomplete: 'off', placeholder: 'region=eu', value: params.get('label') ?? '' });
  const model = h('input', { type: 'text', autocomplete: 'off', placeholder: 'as reported', value: params.get('model') ?? '' });
  const reportedPkg = h('input', { type: 'text', autocomplete: 'off', placeholder: 'as reported', value: params.get('package') ?? '' });
  const waves = h('input', { type: 'text', autocomplete: 'off', value: '1,5%,25%,100%' });
  const budget = h('input', { type: 'text', autocomplete: 'off', value: '0' });
  const deadline = h('input', { type: 'text', autocomplete: 'off', placeholder: 'interval + soak' });
  const startAt = h('input', { type: 'datetime-local' });
  const windows = h('input', { type: 'text', autocomplete: 'off', placeholder: 'Mon-Fri 01:00-05:00 Europe/Berlin' });
  const revert = h('input', { type: 'checkbox', name: 'revertUnhealthy' });
  const pace = h('input', { type: 'number', min: '1', max: '100000', step: '1', autocomplete: 'off', placeholder: 'unpaced' });
  const approval = h('input', { type: 'checkbox' });
  const pauseAfterWave = h('input', { type: 'checkbox' });
  const healthSoak = h('input', { type: 'text', autocomplete: 'off', placeholder: '30m (TC URI, TC credential, firmware)' });
  const pkgField = field('Package', pkg);
  const uriField = field('URI', uri);
  const revertField = field('Revert a station that fails', revert, 'it gets what it had before at its next exchange');
  let revertTouched = false;
  revert.addEventListener('change', () => (revertTouched = true));
  const sync = () => {
    pkgField.hidden = kind.value !== 'firmware';
    uriField.hidden = kind.value === 'firmware' || kind.value.startsWith('rotate:');
    // The server's defaults: on for a TC URI and a TC credential rotation, off for firmware; a CUPS URI or CUPS credential cannot be reverted.
    revertField.hidden = kind.value !== 'tcUri' && kind.value !== 'firmware' && kind.value !== 'rotate:tc';
    if (!revertTouched) revert.checked = kind.value === 'tcUri' || kind.value === 'rotate:tc';
  };
  kind.addEventListener('change', sync);
  sync();
  void get<FirmwarePackage[]>('/firmware').then((list) => fill(pkg, list.map((p) => h('option', { value: p.package }, visible(p.package)))));
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'new-rollout' },
    h('h2', { id: 'new-rollout' }, 'Start a rollout'),
    h('div', { class: 'filters' }, field('Name', name), field('Change', kind), pkgField, uriField, field('Stations with labels', label, 'k=v, comma-separated; all must hold'), field('Stations of model', model), field('Stations running package', reportedPkg), field('Waves', waves, 'cumulative counts or percentages'), field('Failure budget', budget, 'count or %'), field('Deadline per station', deadline), field('Health soak', healthSoak, 'a station calling CUPS again within this after its change fails; 0: off'), field('Start at', startAt, 'your local time; empty: now'), field('Time windows', windows, 'offers only inside; several separated by ;'), revertField, field('Offers per minute at most', pace, 'across every server'), field('Wait for approval', approval, 'by an operator other than you'), field('Pause after each wave', pauseAfterWave, 'until resumed')),
    h('button', { type: 'submit' }, 'Start rollout'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const labels = label.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const windowList = windows.value.split(';').map((s) => s.trim()).filter((s) => s !== '');
    const body = {
      ...(name.value.trim() === '' ? {} : { name: name.value.trim() }),
      ...(kind.value === 'firmware' ? { firmware: pkg.value } : kind.value.startsWith('rotate:') ? { rotate: kind.value.slice('rotate:'.length) } : { [kind.value]: uri.value.trim() }),
      ...(labels.length === 0 ? {} : { label: labels }),
      ...(model.value.trim() === '' ? {} : { model: model.value.trim() }),
      ...(reportedPkg.value.trim() === '' ? {} : { package: reportedPkg.value.trim() }),
      waves: waves.value.trim(),
      failureBudget: budget.value.trim(),
      ...(deadline.value.trim() === '' ? {} : { deadline: deadline.value.trim() }),
      // The browser's local time, sent as an instant: the server takes an ISO time with its offset.
      ...(startAt.value === '' ? {} : { startAt: new Date(startAt.value).toISOString() }),
      ...(windowList.length === 0 ? {} : { window: windowList }),
      ...(revertField.hidden ? {} : { revertUnhealthy: revert.checked }),
      ...(pace.value.trim() === '' ? {} : { maxOffersPerMinute: Number(pace.value) }),
      ...(approval.checked ? { requireApproval: true } : {}),
      ...(pauseAfterWave.checked ? { pauseAfterWave: true } : {}),
      ...(healthSoak.value.trim() === '' ? {} : { healthSoak: healthSoak.value.trim() }),
    };
    const what = kind.value === 'firmware' ? `firmware ${pkg.value}` : kind.value.startsWith('rotate:') ? (kind.selectedOptions[0]?.textContent ?? kind.value).toLowerCase() : `${kind.value} ${uri.value}`;
    const selected = [...(labels.length === 0 ? [] : [`labels ${labels.join(', ')}`]), ...(model.value.trim() === '' ? [] : [`model ${model.value.trim()}`]), ...(reportedPkg.value.trim() === '' ? [] : [`package ${reportedPkg.value.trim()}`])];
    const when = startAt.value === '' ? '' : ` from ${new Date(startAt.value).toLocaleString()}`;
    const inside = windowList.length === 0 ? '' : `, offering only in ${windowList.join('; ')}`;
    void ctx.confirm(`${startAt.value === '' ? 'Start rolling' : 'Schedule rolling'} out ${what} to ${selected.length === 0 ? 'every station' : `stations with ${selected.join(' and ')}`}${when}${inside}?`, startAt.value === '' ? 'Start' : 'Schedule').then((yes) => {
      if (yes) void ctx.act('Starting the rollout', async () => {
        const r = await api<Rollout>('POST', '/rollouts', body);
        ctx.go(`#/rollouts/${r.id}`);
      });
    });
  });
  return form;
}

export function rolloutsPage(ctx: AppContext, params: URLSearchParams = new URLSearchParams()): Page {
  const list = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Rollout pages' });
  const el = h('section', { 'aria-labelledby': 'ro-title' }, h('h1', { id: 'ro-title' }, 'Rollouts'), list, pager, ctx.canChange ? createForm(ctx, params) : null);
  // The list is paged by the API (most recent first), with each rollout's counts from an aggregate.
  const cursors: (string | undefined)[] = [undefined];
  const refresh = async (): Promise<void> => {
    const page = await get<ApiPage<Rollout>>(`/rollouts${query({ limit: String(PAGE), cursor: cursors[cursors.length - 1] })}`);
    const rollouts = page.items;
    fill(
      list,
      rollouts.length === 0
        ? h('p', { class: 'empty' }, 'No rollouts yet.')
        : h(
            'ul',
            { class: 'rollouts', 'data-testid': 'rollouts' },
            rollouts.map((r) => {
              // Every member of every wave (waves hold their own stations, not a running sum).
              const total = rolloutTotal(r);
              return h(
                'li',
                { class: 'card' },
                h('a', { href: `#/rollouts/${r.id}` }, r.name === null ? r.id : u(r.name)),
                ' ',
                rolloutBadge(r.state),
                h('p', { class: 'meta', 'data-testid': 'rollout-counts' }, u(changeText(r.change)), ` · wave ${r.wave} of ${r.waves.length} · ${r.totals.confirmed} of ${total} confirmed, ${r.totals.offered} offered${r.totals.soaking > 0 ? ` (${r.totals.soaking} soaking)` : ''}, ${r.totals.failed} failed · `, r.state === 'scheduled' && r.startAt !== null ? ['starts ', time(r.startAt)] : ['started ', time(r.startAt ?? r.createdAt)]),
                progress(r, r.totals, total, `${visible(r.name ?? r.id)} progress`),
                h('p', { class: 'meta', 'data-testid': 'rollout-state-text' }, u(r.stateText)),
                h('p', { class: 'meta' }, u(r.haltReason ?? r.gate)),
              );
            }),
          ),
    );
    fill(pager, cursors.length <= 1 && page.nextCursor === null ? null : cursorPager(cursors, page.nextCursor, refresh, ['← Newer', 'Older →']));
  };
  return { title: 'Rollouts', el, refresh };
}
