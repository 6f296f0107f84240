import { api, ApiError, get, query } from '../api.js';
import type { AppContext, Page } from '../app.js';
import { badge, field, fill, h, table, time, type Child } from '../dom.js';
import type { Page as ApiPage, Station, StationAuth, StationEvent } from '../types.js';
import { crcHex as hex, labelChip, u, visible } from '../text.js';
import { labelRows } from './label-rows.js';
import { stateBadge } from './stations.js';
import { healthLine } from '../health.js';
import { complianceLine, type StationCompliance } from '../compliance.js';

/** One row of desired beside reported; a difference is marked in words, not only in colour. */
function compare(what: string, desired: string | null, reported: string | null, seen: boolean): HTMLElement {
  const differs = seen && desired !== null && desired !== reported;
  return h(
    'tr',
    { class: differs ? 'differs' : undefined, 'data-row': what },
    h('th', { scope: 'row' }, what),
    h('td', { class: 'mono' }, u(desired, 'wrap', '—')),
    h('td', { class: 'mono' }, seen ? u(reported, 'wrap', '—') : 'never reported'),
    h('td', null, !seen ? '' : differs ? badge('differs', 'warn') : desired === null ? '' : badge('in sync', 'ok')),
  );
}

/** Desired beside reported, firmware, credentials, events, and the operator's actions on one station. */
export function stationPage(ctx: AppContext, eui: string): Page {
  const path = `/stations/${encodeURIComponent(eui)}`;
  const head = h('div', { class: 'page-head' });
  const twin = h('div');
  const firmware = h('div');
  const credentials = h('div');
  const events = h('div');
  let loaded: Station | null = null;
  let removing = false;

  const name = h('input', { type: 'text', autocomplete: 'off' });
  const tcUri = h('input', { type: 'text', autocomplete: 'off', placeholder: 'wss://lns.example.com:6887', inputmode: 'url' });
  const cupsUri = h('input', { type: 'text', autocomplete: 'off', placeholder: 'https://cups.example.com:443', inputmode: 'url' });
  const labels = labelRows();
  const save = h('button', { type: 'submit' }, 'Save changes');
  const edit = h(
    'form',
    { class: 'card edit', 'aria-labelledby': 'edit-title' },
    h('h2', { id: 'edit-title' }, 'Change configuration'),
    field('Name', name),
    field('TC URI', tcUri, 'the LNS the station connects to; empty clears it'),
    field('CUPS URI', cupsUri, 'empty clears it'),
    labels.el,
    save,
  );
  // What the form was filled from: only what the operator changed since is sent, so a
  // field changed elsewhere meanwhile is not written back.
  let shown: Station | null = null;
  const populate = (s: Station) => {
    shown = s;
    name.value = s.name ?? '';
    tcUri.value = s.desired.tcUri ?? '';
    cupsUri.value = s.desired.cupsUri ?? '';
    labels.set(s.labels);
  };
  edit.addEventListener('submit', (e) => {
    e.preventDefault();
    const s = shown;
    if (s === null) return;
    const wanted = labels.read();
    const labelChange: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(wanted)) if (s.labels[k] !== v) labelChange[k] = v;
    for (const k of Object.keys(s.labels)) if (!(k in wanted)) labelChange[k] = null;
    const orNull = (v: string) => (v.trim() === '' ? null : v.trim());
    const body = {
      ...(orNull(name.value) !== s.name ? { name: orNull(name.value) } : {}),
      ...(orNull(tcUri.value) !== s.desired.tcUri ? { tcUri: orNull(tcUri.value) } : {}),
      ...(orNull(cupsUri.value) !== s.desired.cupsUri ? { cupsUri: orNull(cupsUri.value) } : {}),
      ...(Object.keys(labelChange).length > 0 ? { labels: labelChange } : {}),
    };
    if (Object.keys(body).length === 0) {
      ctx.notify('Nothing changed.');
      return;
    }
    void ctx.act('Saving the station', async () => {
      const updated = await api<Station>('PATCH', path, body);
      loaded = updated;
      populate(updated);
    });
  });

  const actions = h('div', { class: 'actions' });
  const remove = h('button', { type: 'button', class: 'danger' }, 'Remove station');
  remove.addEventListener('click', () => {
    void ctx.confirm(`Remove station ${eui}? Its credentials are deleted and it gets 404 until registered again.`, 'Remove').then((yes) => {
      if (yes) void ctx.act(`Removing ${eui}`, async () => {
        // The page stops asking about a station that is going away (each answer would be a 404).
        removing = true;
        try {
          await api('DELETE', path);
        } catch (e) {
          removing = false;
          throw e;
        }
        ctx.go('#/stations');
      });
    });
  });
  actions.append(remove);

  const el = h(
    'section',
    { 'aria-labelledby': 'station-title' },
    head,
    h('div', { class: 'grid2' }, h('div', null, h('h2', null, 'Desired and reported'), twin, h('h2', null, 'Firmware'), firmware), ctx.canChange ? h('div', null, edit, actions) : h('div')),
    h('h2', null, 'Credentials'),
    credentials,
    h('h2', null, 'Events'),
    events,
  );

  async function refresh(): Promise<void> {
    // Asked together: a station removed meanwhile is a 404 of all of them at once, not a half-drawn page.
    if (removing) return;
    let s: Station;
    let auth: StationAuth;
    let ev: ApiPage<StationEvent>;
    let compliance: StationCompliance;
    try {
      [s, auth, ev, compliance] = await Promise.all([get<Station>(path), get<StationAuth>(`${path}/auth`), get<ApiPage<StationEvent>>(`${path}/events${query({ limit: '30' })}`), get<StationCompliance>(`${path}/compliance`)]);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        fill(head, h('h1', { id: 'station-title' }, `Station ${eui}`), h('p', null, 'This station is not registered. ', h('a', { href: '#/stations' }, 'Back to stations')));
        fill(twin);
        return;
      }
      throw e;
    }
    if (loaded === null) populate(s);
    loaded = s;
    const seen = s.reported !== null;
    const failedFw = s.firmware?.state === 'failed' ? s.firmware : null;
    // A failed upgrade is not "still to send": it waits for an operator (retry), and says so.
    const pending = failedFw === null ? s.pending : s.pending.filter((p) => !p.startsWith(`firmware ${failedFw.package} `));
    fill(
      head,
      h('h1', { id: 'station-title' }, s.name === null ? 'Station' : u(s.name, 'title-name'), ' ', h('span', { class: 'mono subtle eui' }, s.eui)),
      h(
        'p',
        { class: 'meta' },
        h('span', { 'data-testid': 'sync-state' }, stateBadge(s.syncState)),
        ' Last seen ',
        time(s.lastSeenAt, 'never'),
        s.lastRemoteAddress === null ? '' : [' from ', u(s.lastRemoteAddress)],
        pending.length > 0 ? [' · still to send: ', pending.map((p, i) => [i === 0 ? '' : ', ', u(p)])] : '',
        failedFw === null ? '' : h('span', { class: 'error', 'data-testid': 'firmware-failed' }, ' · firmware ', u(failedFw.package), ' failed'),
        s.problem === null ? '' : h('span', { class: 'error' }, ' · problem: ', u(s.problem)),
      ),
      h(
        'p',
        { class: 'meta', 'data-testid': 'station-facts' },
        'Labels: ',
        Object.keys(s.labels).length === 0 ? 'none' : Object.entries(s.labels).map(([k, v]) => labelChip(k, v)),
        ` · ID6 ${s.id6}`,
        s.reported === null ? '' : [' · model ', u(s.reported.model, 'clip'), ', station ', u(s.reported.station, 'clip')],
      ),
      healthLine(s.health),
      complianceLine(compliance),
    );
    fill(
      twin,
      h(
        'div',
        { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Desired and reported' },
        h(
          'table',
          { class: 'twin', 'data-testid': 'twin' },
          h('caption', { class: 'sr-only' }, 'Desired configuration beside what the station reports'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, 'Desired'), h('th', { scope: 'col' }, 'Reported'), h('th', { scope: 'col' }, 'Status'))),
          h(
            'tbody',
            null,
            compare('TC URI', s.desired.tcUri, s.reported?.tcUri ?? null, seen),
            compare('CUPS URI', s.desired.cupsUri, s.reported?.cupsUri ?? null, seen),
            compare('CUPS credential', s.desired.cupsCred === null ? null : hex(s.desired.cupsCred.crc), hex(s.reported?.cupsCredCrc), seen),
            compare('TC credential', s.desired.tcCred === null ? null : hex(s.desired.tcCred.crc), hex(s.reported?.tcCredCrc), seen),
            compare('Package', s.firmware?.package ?? null, s.reported?.package ?? null, seen),
          ),
        ),
      ),
    );
    const fw = s.firmware;
    const retry = h('button', { type: 'button', class: 'secondary' }, 'Retry firmware');
    retry.addEventListener('click', () => void ctx.act('Retrying the upgrade', () => api('POST', `${path}/firmware/retry`)));
    fill(
      firmware,
      fw === null
        ? h('p', { class: 'empty' }, 'No firmware target.')
        : h(
            'dl',
            { class: 'facts' },
            h('dt', null, 'Target'),
            h('dd', null, h('span', { class: 'mono' }, u(fw.package)), ' ', badge(fw.state, fw.state === 'upgraded' ? 'ok' : fw.state === 'failed' ? 'bad' : 'warn')),
            h('dt', null, 'Offers'),
            h('dd', null, `${fw.offers} of at most ${fw.maxOffers}`, fw.lastOfferedAt === null ? '' : [', last ', time(fw.lastOfferedAt)]),
            h('dt', null, 'Requested'),
            h('dd', null, time(fw.requestedAt), fw.fromPackage === null ? '' : [' (from ', u(fw.fromPackage), ')']),
            fw.upgradedAt === null ? null : [h('dt', null, 'Upgraded'), h('dd', null, time(fw.upgradedAt))],
            fw.lastError === null ? null : [h('dt', null, 'Last error'), h('dd', { class: 'error' }, u(fw.lastError, 'wrap'))],
          ),
      fw !== null && ctx.canChange && fw.state !== 'upgraded' ? retry : null,
    );
    const certRows: Child[][] = auth.certificates.map((c) => [
      h('span', { class: 'mono fp', title: c.fingerprint }, c.fingerprint.match(/.{1,2}/g)?.slice(0, 8).join(':') + '…'),
      c.category,
      badge(c.status + (c.retiredReason === null ? '' : ` (${visible(c.retiredReason)})`), c.status === 'active' ? 'ok' : 'muted'),
      hex(c.credCrc),
      c.notAfter === null ? '—' : [time(c.notAfter), Date.parse(c.notAfter) < Date.now() ? [' ', badge('expired', 'bad')] : ''],
    ]);
    const tokenRows: Child[][] = auth.tokens.map((t) => [
      h('span', { class: 'mono' }, u(t.id)),
      t.category,
      badge(t.status + (t.compromisedAt === null ? '' : ', compromised'), t.compromisedAt !== null ? 'bad' : t.status === 'active' ? 'ok' : 'muted'),
      hex(t.credCrc),
      time(t.createdAt),
    ]);
    const rotate = (category: 'cups' | 'tc') => {
      const b = h('button', { type: 'button', class: 'secondary' }, `Rotate ${category.toUpperCase()} credential`);
      b.addEventListener('click', () => {
        void ctx.confirm(`Issue a new ${category.toUpperCase()} credential for ${s.eui}? It is sent on the station's next request; the old one stays valid until the station reports the new one.`, 'Rotate').then((yes) => {
          if (yes) void ctx.act(`Rotating the ${category} credential`, () => api('POST', `${path}/rotate`, { for: category }));
        });
      });
      return b;
    };
    // A station given its first certificate or token before it ever asked is still in mode none, moving to it.
    const cupsInUse = auth.mode !== 'none' || auth.rotations.some((r) => r.category === 'cups' && r.targetMode !== null && r.targetMode !== 'none');
    const activeTc = auth.certificates.some((c) => c.category === 'tc' && c.status === 'active') || auth.tokens.some((t) => t.category === 'tc' && t.status === 'active');
    fill(
      credentials,
      h('p', null, 'Auth mode: ', h('strong', { 'data-testid': 'auth-mode' }, auth.mode)),
      ctx.canChange ? h('div', { class: 'actions' }, cupsInUse ? rotate('cups') : null, activeTc ? rotate('tc') : null) : null,
      auth.rotations.map((r) => h('p', { class: 'meta' }, `Pending ${r.category} rotation since `, time(r.startedAt), `: waiting for the station to report ${hex(r.newCrc)}`)),
      table(['Certificate (SHA-256)', 'For', 'Status', 'Credential CRC', 'Valid until'], certRows, 'Certificates', 'No certificates.'),
      table(['Token', 'For', 'Status', 'Credential CRC', 'Issued'], tokenRows, 'Tokens', 'No tokens.'),
    );
    fill(
      events,
      ev.items.length === 0
        ? h('p', { class: 'empty' }, 'No events.')
        : h('ol', { class: 'timeline', 'data-testid': 'events' }, ev.items.map((e) => h('li', null, time(e.at), ' ', badge(e.type, 'muted'), ' ', u(e.message, 'wrap')))),
    );
  }
  return { title: `Station ${eui}`, el, refresh };
}
