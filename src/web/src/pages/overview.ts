import { get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { barChart } from '../charts.js';
import { fill, h, table, time } from '../dom.js';
import { u, visible } from '../text.js';
import type { Page as ApiPage, FleetSummary, Rollout, ServerStats } from '../types.js';
import { changeText, progress, rolloutBadge, rolloutTotal } from './rollouts.js';

/** An upgrade state and the station list state that shows the same stations (upgraded ones are simply in sync or not). */
const UPGRADE_FILTER: Readonly<Record<string, string>> = { failed: 'failed', offered: 'offered', pending: 'pending_firmware' };

interface Refusal {
  at: string;
  eui: string | null;
  remoteAddress: string | null;
  status: number;
  code: string;
  message: string;
}

/** The station listener's last non-ok answers: which station, from where, what it was told. */
function refusalsTable(items: readonly Refusal[]): HTMLElement {
  return table(
    ['When', 'Station', 'From', 'Answer'],
    items.map((r) => [
      time(r.at),
      r.eui === null ? '—' : h('a', { href: `#/stations/${r.eui}`, class: 'mono eui' }, r.eui),
      u(r.remoteAddress, '', '—'),
      [h('span', { class: 'mono' }, `${r.status} ${visible(r.code)}`), ' ', u(r.message, 'wrap')],
    ]),
    'Recent non-ok exchanges',
    'No non-ok answer since this server started.',
  );
}
import { healthCards } from '../health.js';
import { compliancePanel } from '../compliance.js';
import { certificateCards, type CertificateLifetimes } from './certificate-cards.js';

/** States that need an operator first: shown first, and marked. */
const ORDER: readonly [string, string][] = [
  ['silent', 'Silent'],
  ['failed', 'Failed'],
  ['problem', 'Problem'],
  ['never_seen', 'Never seen'],
  ['pending_config', 'Pending config'],
  ['pending_firmware', 'Pending firmware'],
  ['offered', 'Offered'],
  ['in_sync', 'In sync'],
];
const ALERT = new Set(['silent', 'failed', 'problem']);

export function overviewPage(_ctx: AppContext): Page {
  const counts = h('div', { class: 'cards', 'data-testid': 'state-counts' });
  const charts = h('div', { class: 'grid2' });
  const health = h('div');
  const compliance = h('div');
  const traffic = h('div', { class: 'cards' });
  const active = h('div', { 'data-testid': 'active-rollouts' });
  const refusals = h('div', { id: 'refusals', 'data-testid': 'refusals' });
  const errorsDetails = h('details', { class: 'refusals' }, h('summary', null, 'Recent non-ok exchanges'), refusals);
  errorsDetails.addEventListener('toggle', () => {
    if (errorsDetails.open) void loadRefusals();
  });
  const loadRefusals = async () => fill(refusals, refusalsTable((await get<{ items: Refusal[] }>('/server/refusals')).items));
  const certificates = h('div', { class: 'cards', 'data-testid': 'certificates' });
  const el = h(
    'section',
    { 'aria-labelledby': 'ov-title' },
    h('h1', { id: 'ov-title' }, 'Fleet overview'),
    h('h2', null, 'Stations by state'),
    counts,
    h('h2', null, 'Active rollouts'),
    active,
    h('h2', null, 'Firmware compliance'),
    compliance,
    h('h2', null, 'Gateway health'),
    health,
    h('h2', null, 'Certificates'),
    certificates,
    h('h2', null, 'This server'),
    traffic,
    errorsDetails,
    charts,
  );
  return {
    title: 'Overview',
    el,
    async refresh() {
      const [s, stats, rollouts] = await Promise.all([
        get<FleetSummary>('/fleet/summary'),
        get<ServerStats>('/server/stats'),
        get<ApiPage<Rollout>>(`/rollouts${query({ state: 'scheduled,running,paused,halted', limit: '10' })}`),
      ]);
      fill(
        active,
        rollouts.items.length === 0
          ? h('p', { class: 'empty' }, 'No rollout is scheduled, running, paused or halted.')
          : h(
              'ul',
              { class: 'rollouts' },
              rollouts.items.map((r) => {
                const total = rolloutTotal(r);
                return h(
                  'li',
                  { class: 'card' },
                  h('a', { href: `#/rollouts/${r.id}` }, r.name === null ? r.id : u(r.name)),
                  ' ',
                  rolloutBadge(r.state),
                  h('p', { class: 'meta' }, u(changeText(r.change)), r.state === 'scheduled' && r.startAt !== null ? [' · starts ', time(r.startAt), ` · ${total} stations`] : ` · wave ${r.wave} of ${r.waves.length} · ${r.totals.confirmed} of ${total} confirmed, ${r.totals.failed} failed`),
                  progress(r, r.totals, total, `${visible(r.name ?? r.id)} progress`),
                );
              }),
            ),
      );
      if (rollouts.nextCursor !== null) active.append(h('p', null, h('a', { href: '#/rollouts' }, 'More rollouts')));
      fill(
        counts,
        h('a', { class: 'card count', href: '#/stations', 'data-state': 'total' }, h('span', { class: 'n' }, s.total), h('span', null, 'Total')),
        ORDER.map(([state, label]) => {
          const n = state === 'silent' ? s.silent : (s.byState[state] ?? 0);
          const href = state === 'silent' ? `#/stations?silent=26h` : `#/stations?state=${state}`;
          return h(
            'a',
            { class: `card count${ALERT.has(state) && n > 0 ? ' alert' : ''}`, href, 'data-state': state, title: state === 'silent' ? `not heard from since before the silence threshold` : undefined },
            h('span', { class: 'n' }, n),
            h('span', null, label),
          );
        }),
      );
      fill(health, healthCards(s));
      fill(compliance, compliancePanel(s));
      fill(certificates, certificateCards((s as FleetSummary & { certificates?: CertificateLifetimes }).certificates));
      fill(
        traffic,
        h('div', { class: 'card count', 'data-stat': 'exchanges' }, h('span', { class: 'n' }, stats.lastMinute.exchanges), h('span', null, 'Exchanges, last minute')),
        // The errors card opens the list of what went wrong (which station, what it was told).
        h('button', { type: 'button', class: `card count${stats.lastMinute.errors > 0 ? ' alert' : ''}`, 'data-stat': 'errors', 'aria-controls': 'refusals', onclick: () => {
          errorsDetails.open = true;
          errorsDetails.scrollIntoView({ block: 'nearest' });
        } }, h('span', { class: 'n' }, stats.lastMinute.errors), h('span', null, 'Errors, last minute')),
        h('div', { class: 'card count' }, h('span', { class: 'n' }, stats.totals.exchanges), h('span', null, ['Exchanges since start ', time(stats.startedAt)])),
        h('div', { class: 'card count' }, h('span', { class: 'n' }, stats.totals.errors), h('span', null, 'Errors since start')),
      );
      const bars = (list: FleetSummary['byPackage'], key: 'model' | 'package', none: string) =>
        list
          .map((c) => ({ label: c.value ?? none, value: c.count, href: c.value === null ? undefined : `#/stations${query({ [key]: c.value })}` }))
          .sort((a, b) => b.value - a.value)
          .slice(0, 12);
      fill(
        charts,
        barChart('Stations by firmware package', bars(s.byPackage, 'package', 'unreported'), 'by-package'),
        barChart('Stations by model', bars(s.byModel, 'model', '(never seen)'), 'by-model'),
        barChart(
          'Firmware upgrades by state',
          Object.entries(s.upgrades).map(([label, value]) => ({ label, value, href: UPGRADE_FILTER[label] === undefined ? undefined : `#/stations?state=${UPGRADE_FILTER[label]}` })),
          'upgrades',
        ),
      );
      if (errorsDetails.open) await loadRefusals();
    },
  };
}
