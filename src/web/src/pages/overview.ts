import { get } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { barChart } from '../charts.js';
import { fill, h, time } from '../dom.js';
import type { FleetSummary, ServerStats } from '../types.js';
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
  const traffic = h('div', { class: 'cards' });
  const certificates = h('div', { class: 'cards', 'data-testid': 'certificates' });
  const el = h(
    'section',
    { 'aria-labelledby': 'ov-title' },
    h('h1', { id: 'ov-title' }, 'Fleet overview'),
    h('h2', null, 'Stations by state'),
    counts,
    h('h2', null, 'Certificates'),
    certificates,
    h('h2', null, 'This server'),
    traffic,
    charts,
  );
  return {
    title: 'Overview',
    el,
    async refresh() {
      const [s, stats] = await Promise.all([get<FleetSummary>('/fleet/summary'), get<ServerStats>('/server/stats')]);
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
      fill(certificates, certificateCards((s as FleetSummary & { certificates?: CertificateLifetimes }).certificates));
      fill(
        traffic,
        h('div', { class: 'card count', 'data-stat': 'exchanges' }, h('span', { class: 'n' }, stats.lastMinute.exchanges), h('span', null, 'Exchanges, last minute')),
        h('div', { class: `card count${stats.lastMinute.errors > 0 ? ' alert' : ''}`, 'data-stat': 'errors' }, h('span', { class: 'n' }, stats.lastMinute.errors), h('span', null, 'Errors, last minute')),
        h('div', { class: 'card count' }, h('span', { class: 'n' }, stats.totals.exchanges), h('span', null, ['Exchanges since start ', time(stats.startedAt)])),
        h('div', { class: 'card count' }, h('span', { class: 'n' }, stats.totals.errors), h('span', null, 'Errors since start')),
      );
      const bars = (list: FleetSummary['byPackage'], none: string) => list.map((c) => ({ label: c.value ?? none, value: c.count })).sort((a, b) => b.value - a.value).slice(0, 12);
      fill(
        charts,
        barChart('Stations by firmware package', bars(s.byPackage, 'unreported')),
        barChart('Stations by model', bars(s.byModel, '(never seen)')),
        barChart(
          'Firmware upgrades by state',
          Object.entries(s.upgrades).map(([label, value]) => ({ label, value })),
        ),
      );
    },
  };
}
