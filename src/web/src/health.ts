import { badge, h } from './dom.js';
import type { FleetSummary, StationHealth } from './types.js';

/**
 * Gateway health on the dashboard (README "Gateway health"): the state comes
 * from the rhythm of a station's CUPS calls, so `healthy` means no sign of
 * failure, not proof that the gateway works.
 */
export const HEALTH_STATES: readonly [string, string][] = [
  ['lns_failing', 'LNS failing'],
  ['silent', 'Silent'],
  ['unknown', 'Unknown'],
  ['healthy', 'Healthy'],
];

const KIND: Readonly<Record<string, string>> = { healthy: 'ok', lns_failing: 'bad', silent: 'warn', unknown: 'muted' };

/** The state as a badge whose title is the reason. */
export function healthBadge(health: StationHealth): HTMLElement {
  const b = badge(health.state, KIND[health.state] ?? 'muted');
  b.title = health.reason;
  b.dataset.health = health.state;
  return b;
}

/** The badge with the reason in words beside it, for one station's page. */
export function healthLine(health: StationHealth): HTMLElement {
  return h('p', { class: 'health', 'data-testid': 'health' }, healthBadge(health), ' ', health.reason);
}

/** One card per health state, each a link to the stations in it. */
export function healthCards(s: FleetSummary): HTMLElement {
  return h(
    'div',
    { class: 'cards', 'data-testid': 'health-counts' },
    HEALTH_STATES.map(([state, label]) => {
      const n = s.byHealth[state] ?? 0;
      const alert = (state === 'lns_failing' || state === 'silent') && n > 0;
      return h('a', { class: `card count${alert ? ' alert' : ''}`, href: `#/stations?health=${state}`, 'data-health': state }, h('span', { class: 'n' }, n), h('span', null, label));
    }),
  );
}

/** The listing's health filter. */
export function healthSelect(selected: string): HTMLSelectElement {
  return h('select', null, h('option', { value: '' }, 'Any health'), HEALTH_STATES.map(([state, label]) => h('option', { value: state, selected: state === selected }, label))) as HTMLSelectElement;
}
