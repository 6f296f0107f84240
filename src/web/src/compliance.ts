import { query } from './api.js';
import { h, type Child } from './dom.js';
import { u } from './text.js';
import type { FleetSummary } from './types.js';

/**
 * Firmware compliance on the dashboard (README "Firmware library and fleet
 * rollouts"): per model, how many stations run the newest library package built
 * for it, how many are behind and how many are on their way.
 */
export const COMPLIANCE_STATES: readonly [string, string][] = [
  ['behind', 'Behind'],
  ['in_progress', 'In progress'],
  ['latest', 'Latest'],
  ['ahead', 'Ahead'],
  ['no_package', 'No library package'],
  ['unknown', 'Never seen'],
];

const n = (x: number) => x.toLocaleString('en-US');

/** "1,204 of 1,310 linux gateways on 2.1.0; 98 behind; 8 in progress", each count a link to those stations. */
export function compliancePanel(s: FleetSummary): HTMLElement {
  const withPackage = s.compliance.filter((m) => m.model !== null && m.newest !== null);
  const without = s.compliance.filter((m) => m.model !== null && m.newest === null);
  const link = (model: string, state: string, text: Child[]) => h('a', { href: `#/stations${query({ model, compliance: state })}`, 'data-compliance': state }, ...text);
  const items = withPackage.map((m) => {
    const model = m.model as string;
    const parts: Child[] = [
      link(model, 'latest', [`${n(m.states.latest)} of ${n(m.stations)} `, u(model), ' gateways on ', u(m.newest)]),
      '; ',
      link(model, 'behind', [`${n(m.states.behind)} behind`]),
      '; ',
      link(model, 'in_progress', [`${n(m.states.in_progress)} in progress`]),
    ];
    if (m.states.ahead > 0) parts.push('; ', link(model, 'ahead', [`${n(m.states.ahead)} ahead`]));
    return h('li', { class: `card${m.states.behind > 0 ? ' alert' : ''}`, 'data-model': model }, ...parts);
  });
  const none = without.length === 0
    ? null
    : h(
        'p',
        { class: 'meta', 'data-testid': 'compliance-no-package' },
        'No library package for ',
        without.flatMap((m, i) => [i === 0 ? '' : ', ', h('a', { href: `#/stations${query({ model: m.model as string, compliance: 'no_package' })}` }, u(m.model), ` (${n(m.stations)})`)]),
        ': not counted as behind.',
      );
  return h(
    'div',
    { 'data-testid': 'compliance' },
    items.length === 0
      ? h('p', { class: 'empty' }, 'The firmware library has no package for a model the fleet reports.')
      : h('ul', { class: 'compliance' }, items),
    none,
  );
}

/** The listing's compliance filter. */
export function complianceSelect(selected: string): HTMLSelectElement {
  return h('select', null, h('option', { value: '' }, 'Any compliance'), COMPLIANCE_STATES.map(([state, label]) => h('option', { value: state, selected: state === selected }, label))) as HTMLSelectElement;
}

/** GET /stations/{eui}/compliance. */
export interface StationCompliance {
  state: string;
  newest: string | null;
}

/** One station's compliance in words, with the package it could have when behind. */
export function complianceLine(c: StationCompliance): HTMLElement {
  const newest = (text: string) => [text, u(c.newest)];
  const words: Readonly<Record<string, Child[]>> = {
    latest: newest('runs the newest library package for its model, '),
    behind: newest('behind: could have '),
    in_progress: newest('in progress: a firmware target or an active firmware rollout is bringing it a package; the newest for its model is '),
    ahead: newest('ahead: runs a higher version than the newest library package for its model, '),
    no_package: ['the firmware library has no package built for its model'],
    unknown: ['not known until the station is seen'],
  };
  return h('p', { class: 'meta', 'data-testid': 'compliance-line', 'data-compliance': c.state }, 'Firmware compliance: ', ...(words[c.state] ?? [c.state]));
}
