/**
 * A tiny element builder: every text goes in as a text node, never as HTML, so
 * station names and labels cannot inject markup (and the CSP forbids inline code anyway).
 */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c as readonly Child[]);
    else el.appendChild(typeof c === 'object' ? (c as Node) : document.createTextNode(String(c)));
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * Back and forward buttons with the page number, over a stack of cursors whose
 * last entry is the page shown (undefined: the first page). Back pops it,
 * forward pushes `nextCursor`; both then call `refresh`.
 */
export function cursorPager(
  cursors: (string | undefined)[],
  nextCursor: string | null,
  refresh: () => Promise<void>,
  [back, forward]: readonly [string, string] = ['← Previous', 'Next →'],
): HTMLElement[] {
  const prev = h('button', { type: 'button', class: 'secondary', disabled: cursors.length <= 1 }, back);
  prev.addEventListener('click', () => {
    cursors.pop();
    void refresh();
  });
  const next = h('button', { type: 'button', class: 'secondary', disabled: nextCursor === null }, forward);
  next.addEventListener('click', () => {
    if (nextCursor !== null) cursors.push(nextCursor);
    void refresh();
  });
  return [prev, h('span', null, `Page ${cursors.length}`), next];
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') return relative.format(Math.trunc(seconds / size), unit);
  }
  return iso;
}

/** A time shown relative ("3 minutes ago"), the exact time on hover and for assistive technology. */
export function time(iso: string | null | undefined, none = '—'): Node {
  if (iso === null || iso === undefined) return document.createTextNode(none);
  const exact = new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  return h('time', { datetime: iso, title: `${exact} (${iso})` }, relativeTime(iso));
}

/** A labelled form control: the label names it, the hint (if any) describes it. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint === undefined ? null : h('small', { id: `${id}-hint`, class: 'hint' }, hint);
  if (hintEl !== null) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

export function badge(text: string, kind: string): HTMLElement {
  return h('span', { class: `badge badge-${kind}` }, text.replace(/_/g, ' '));
}

export function table(headers: readonly (string | Node)[], rows: readonly (readonly Child[])[], caption: string, empty = 'Nothing here yet.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      null,
      h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
    ),
  );
}
