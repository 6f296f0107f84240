import { api, get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { badge, cursorPager, fill, h, table, time } from '../dom.js';
import type { Page as ApiPage, Rollout, RolloutEvent, RolloutMember } from '../types.js';

/** Members are read a page at a time, and only while their table is open; events: the latest few. */
const MEMBER_PAGE = 50;
const EVENTS = 15;
const MEMBER_STATES = ['pending', 'offered', 'confirmed', 'failed', 'skipped', 'reverted'];
import { changeText, progress, rolloutBadge, rolloutTotal, SEGMENTS } from './rollouts.js';
import { duration, u } from '../text.js';

const CONTROLS: readonly { action: 'approve' | 'deny' | 'pause' | 'resume' | 'retry' | 'abort' | 'rollback'; label: string; when: readonly string[]; question: string; danger: boolean }[] = [
  { action: 'approve', label: 'Approve', when: ['waiting_for_approval'], question: 'Approve this rollout? Wave 1 starts at the next evaluation.', danger: false },
  { action: 'deny', label: 'Deny', when: ['waiting_for_approval'], question: 'Deny this rollout? It is aborted; nothing was offered.', danger: true },
  { action: 'pause', label: 'Pause', when: ['running'], question: 'Pause this rollout? No new offers are made until it is resumed.', danger: false },
  { action: 'resume', label: 'Resume', when: ['paused', 'halted'], question: 'Resume this rollout? Offers continue with the current wave.', danger: false },
  { action: 'retry', label: 'Retry failed', when: ['running', 'paused', 'halted', 'completed'], question: 'Offer the change again to every failed station? Each gets a new offer and deadline, under the same gates.', danger: false },
  { action: 'abort', label: 'Abort', when: ['scheduled', 'running', 'paused', 'halted', 'waiting_for_approval'], question: 'Abort this rollout? It stops for good (a scheduled one never starts); stations stay as they are.', danger: true },
  { action: 'rollback', label: 'Roll back', when: ['running', 'paused', 'halted', 'completed', 'aborted'], question: 'Roll back? Every station this rollout touched is set back to its previous configuration.', danger: true },
];

type Json = Record<string, unknown>;

/** The selector in the CLI's own words: labels, model, package, version, EUIs. */
function selectorText(sel: Json): string {
  const parts: string[] = [];
  for (const l of (sel['labels'] as Json[] | undefined) ?? []) {
    const op = l['op'];
    parts.push(op === 'eq' ? `${String(l['key'])}=${String(l['value'])}` : op === 'ne' ? `${String(l['key'])}!=${String(l['value'])}` : op === 'absent' ? `!${String(l['key'])}` : String(l['key']));
  }
  for (const k of ['model', 'package', 'version']) if (typeof sel[k] === 'string') parts.push(`${k} ${String(sel[k])}`);
  const euis = sel['stations'] ?? sel['euis'];
  if (Array.isArray(euis) && euis.length > 0) parts.push(`${euis.length} listed`);
  return parts.length === 0 ? 'all' : parts.join(', ');
}

function planText(plan: Json): string {
  const waves = ((plan['waves'] as Json[] | undefined) ?? []).map((w) => (w['percent'] !== undefined ? `${String(w['percent'])}%` : String(w['count'] ?? '?')));
  const budget = plan['failureBudget'] as Json | undefined;
  const ms = (v: unknown) => (typeof v === 'number' && v > 0 ? duration(v) : null);
  return [
    `waves ${waves.join(', ')}`,
    budget === undefined ? null : `failure budget ${budget['percent'] !== undefined ? `${String(budget['percent'])}%` : String(budget['count'] ?? 0)}`,
    ms(plan['deadlineMs']) === null ? null : `deadline ${ms(plan['deadlineMs'])}`,
    ms(plan['soakMs']) === null ? null : `soak ${ms(plan['soakMs'])}`,
    ms(plan['healthSoakMs']) === null ? 'no health soak' : `health soak ${ms(plan['healthSoakMs'])}`,
    plan['revertUnhealthy'] === true ? 'failed stations reverted' : null,
  ]
    .filter((x) => x !== null)
    .join(' · ');
}

export function rolloutPage(ctx: AppContext, id: string): Page {
  const path = `/rollouts/${encodeURIComponent(id)}`;
  const head = h('div', { class: 'page-head' });
  const controls = h('div', { class: 'actions', role: 'group', 'aria-label': 'Rollout controls' });
  const waves = h('div');
  const members = h('div');
  const membersSummary = h('span', null, 'Stations');
  const memberState = h('select', { 'aria-label': 'Member state' }, h('option', { value: '' }, 'Any state'), MEMBER_STATES.map((s) => h('option', { value: s }, s === 'failed' ? 'failed (and lost)' : s)));
  const memberPager = h('nav', { class: 'pager', 'aria-label': 'Member pages' });
  const cursors: (string | undefined)[] = [undefined];
  const details = h('details', { class: 'members' }, h('summary', null, h('h2', null, membersSummary)), h('div', { class: 'filters' }, memberState), members, memberPager);
  const events = h('div');
  const refreshMembers = async (): Promise<void> => {
    if (!details.open) return;
    const page = await get<ApiPage<RolloutMember>>(`${path}/members${query({ state: memberState.value, limit: String(MEMBER_PAGE), cursor: cursors[cursors.length - 1] })}`);
    fill(
      members,
      table(
        ['Station', 'Wave', 'State', 'Offered', 'Done', 'Reason'],
        page.items.map((m) => [
          h('a', { href: `#/stations/${m.eui}`, class: 'mono eui' }, m.eui),
          m.wave,
          badge(m.state, m.state === 'confirmed' ? 'ok' : m.state === 'failed' ? 'bad' : 'muted'),
          time(m.offeredAt),
          time(m.doneAt),
          // A failed station's revert reads with its failure: what it got back, or why it could not.
          m.revert === null || m.revert === undefined
            ? u(m.reason, 'wrap')
            : [u(m.reason, 'wrap'), h('br'), h('span', { 'data-testid': 'member-revert' }, badge(m.revert.state, m.revert.state === 'reverted' ? 'ok' : m.revert.state === 'refused' ? 'bad' : 'muted'), ' ', u(m.revert.reason, 'wrap'))],
        ]),
        'Rollout members',
        memberState.value === '' ? 'No stations enrolled.' : `No ${memberState.value} stations.`,
      ),
    );
    fill(memberPager, cursors.length <= 1 && page.nextCursor === null ? null : cursorPager(cursors, page.nextCursor, refreshMembers));
  };
  details.addEventListener('toggle', () => void refreshMembers());
  memberState.addEventListener('change', () => {
    cursors.splice(0, cursors.length, undefined);
    void refreshMembers();
  });
  const el = h(
    'section',
    { 'aria-labelledby': 'rollout-title' },
    head,
    controls,
    h('h2', null, 'Waves'),
    waves,
    details,
    h('h2', null, 'Latest events'),
    events,
  );
  let shownState = '';
  return {
    title: `Rollout ${id}`,
    el,
    async refresh() {
      const [r, latest] = await Promise.all([get<Rollout>(path), get<ApiPage<RolloutEvent>>(`${path}/events${query({ order: 'desc', limit: String(EVENTS) })}`)]);
      fill(
        head,
        h('h1', { id: 'rollout-title' }, r.name === null ? 'Rollout' : u(r.name, 'title-name'), ' ', h('span', { class: 'mono subtle' }, r.id)),
        h('p', { class: 'meta' }, h('span', { 'data-testid': 'rollout-state' }, rolloutBadge(r.state)), ' ', h('strong', { 'data-testid': 'rollout-state-text' }, u(r.stateText)), ' · ', u(changeText(r.change)), ' · created by ', u(r.createdBy), ' ', time(r.createdAt), r.rollbackOf === null ? '' : [' · rollback of ', h('a', { href: `#/rollouts/${r.rollbackOf}` }, r.rollbackOf)]),
        // Only a running rollout moves: a paused or halted one has no arrival time to promise.
        h('p', { class: 'gate', 'data-testid': 'gate' }, h('strong', null, 'Gate: '), u(r.gate), r.eta === null || (r.state !== 'running' && r.state !== 'scheduled') ? '' : [' · ETA ', time(r.eta), h('span', { class: 'meta', 'data-testid': 'eta-note' }, ` (${r.etaNote})`)]),
        r.haltReason === null ? null : h('p', { class: 'error', role: 'alert', 'data-testid': 'halt-reason' }, h('strong', null, 'Halted: '), u(r.haltReason, 'wrap')),
        h('p', { class: 'meta', 'data-testid': 'plan' }, 'Stations: ', u(selectorText(r.selector)), ` · ${planText(r.plan)} · failures allowed: ${r.failuresAllowed}`),
        r.startAt === null && r.windows.length === 0
          ? null
          : h(
              'p',
              { class: 'meta', 'data-testid': 'schedule' },
              r.startAt === null ? '' : [r.state === 'scheduled' ? 'Starts ' : 'Started as scheduled for ', time(r.startAt)],
              r.startAt !== null && r.windows.length > 0 ? ' · ' : '',
              r.windows.length === 0 ? '' : ['Offers only in ', u(r.windows.join('; ')), ' (an offer not fetched when a window closes is taken back)'],
            ),
        r.outsideWindows === undefined || r.outsideWindows.count === 0
          ? null
          : h(
              'div',
              { class: 'card', 'data-testid': 'outside-windows' },
              h('p', null, `${r.outsideWindows.count} pending station(s) call only outside the windows; a healthy station calls about once a day at about the same time, so they are offered only if they call early.`),
              table(
                ['Station', 'Usual call', 'Last call'],
                r.outsideWindows.members.map((m) => [h('a', { href: `#/stations/${m.eui}`, class: 'mono eui' }, m.eui), `${m.usualCallTime} ${m.zone}`, time(m.lastCallAt)]),
                'Stations outside the windows',
                'None.',
              ),
            ),
        r.reverts === undefined || r.reverts.reverting + r.reverts.reverted + r.reverts.refused === 0
          ? null
          : h(
              'p',
              { class: r.reverts.refused > 0 ? 'error' : 'meta', 'data-testid': 'reverts' },
              h('strong', null, 'Reverted: '),
              `${r.reverts.reverted} station(s) back on what they had before`,
              r.reverts.reverting > 0 ? `, ${r.reverts.reverting} set back and waiting for the station's next exchange` : '',
              r.reverts.refused > 0 ? `, ${r.reverts.refused} could not be reverted (see the stations below)` : '',
            ),
        h('p', { class: 'meta', 'data-testid': 'pacing' }, pacingText(r)),
        r.approval === null ? null : h('p', { class: 'meta', 'data-testid': 'approval' }, `${r.approval.decision === 'approved' ? 'Approved' : 'Denied'} by `, u(r.approval.by), ' ', time(r.approval.at)),
      );
      // Buttons are rebuilt only when what they offer changes, so keyboard focus is not lost on every poll.
      const failed = r.totals.failed > 0;
      // The creator's own key cannot approve or deny (the API refuses it too): those buttons are for other keys.
      const mayDecide = ctx.me.keyId !== undefined && ctx.me.keyId !== null && ctx.me.keyId !== r.createdByKeyId;
      const shown = `${r.state}:${failed}:${mayDecide}`;
      if (shownState !== shown) {
        shownState = shown;
        fill(
          controls,
          ctx.canChange
            ? CONTROLS.filter((c) => c.when.includes(r.state) && (c.action !== 'retry' || failed) && ((c.action !== 'approve' && c.action !== 'deny') || mayDecide)).map((c) => {
                const b = h('button', { type: 'button', class: c.danger ? 'danger' : 'secondary', 'data-action': c.action }, c.label);
                b.addEventListener('click', () => {
                  void ctx.confirm(c.question, c.label).then((yes) => {
                    if (yes) void ctx.act(`${c.label} rollout`, () => api('POST', `${path}/${c.action}`, c.action === 'rollback' || c.action === 'retry' ? {} : undefined));
                  });
                });
                return b;
              })
            : null,
        );
      }
      fill(
        waves,
        h(
          'ol',
          { class: 'waves', 'data-testid': 'waves' },
          r.waves.map((w) => {
            // A wave's `stations` are its own members (the API does not sum the waves before it).
            const total = w.stations;
            return h(
              'li',
              { class: w.wave === r.wave && ['running', 'paused'].includes(r.state) ? 'current' : undefined },
              h('span', { class: 'wave-label' }, `Wave ${w.wave}`, w.wave === r.wave && ['running', 'paused'].includes(r.state) ? ' (in progress)' : ''),
              progress(r, w, total, `Wave ${w.wave}`),
              h('span', { class: 'meta' }, `${w.confirmed}/${total} confirmed, ${w.offered} offered${w.soaking > 0 ? ` (${w.soaking} soaking)` : ''}, ${w.failed} failed, ${w.pending} pending`),
            );
          }),
        ),
        h('p', { class: 'legend' }, SEGMENTS.map(([k, label]) => h('span', { class: `key seg-${k}` }, label))),
      );
      fill(membersSummary, `Stations (${rolloutTotal(r)})`);
      await refreshMembers();
      fill(events, h('ol', { class: 'timeline' }, latest.items.map((e) => h('li', null, time(e.at), ' ', badge(e.type, 'muted'), ' ', u(e.message, 'wrap')))));
    },
  };
}

/** Both paces in words, as `rollout show` prints them. */
function pacingText(r: Rollout): string {
  const p = r.pacing;
  const offers = p.maxOffersPerMinute === null ? 'Offers unpaced' : `At most ${p.maxOffersPerMinute} offer(s) per minute`;
  const downloads = p.maxConcurrentDownloads === null ? 'no server cap on firmware downloads' : `the server streams at most ${p.maxConcurrentDownloads} firmware download(s) at once`;
  return `${offers} · ${downloads}${p.downloadsInFlight === null ? '' : ` (${p.downloadsInFlight} in flight)`}`;
}
