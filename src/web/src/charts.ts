import { h } from './dom.js';
import { visible } from './text.js';

/**
 * Charts drawn as SVG by hand: a bar chart is a few rectangles, and a chart
 * library would add tens of kilobytes (and often inline styles, which the CSP forbids).
 */

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** The stations behind the bar (a filtered list), when there is such a filter. */
  readonly href?: string | undefined;
}

/**
 * Horizontal bars, one row each: the label as text (cut to one line with the
 * whole of it on hover, however long a station's model is), the bar drawn in
 * SVG, the value; a row with stations behind it is a link to them.
 */
export function barChart(title: string, bars: readonly Bar[], testId?: string): HTMLElement {
  const figure = h('figure', { class: 'chart', 'data-testid': testId }, h('figcaption', null, title));
  if (bars.length === 0) {
    figure.append(h('p', { class: 'empty' }, 'No data yet.'));
    return figure;
  }
  const max = Math.max(1, ...bars.map((b) => b.value));
  const list = h('ul', { class: 'bar-list', 'aria-label': title });
  for (const b of bars) {
    const shown = visible(b.label);
    const bar = svg('svg', { viewBox: '0 0 100 10', preserveAspectRatio: 'none', class: 'bar-svg', 'aria-hidden': 'true', focusable: 'false' });
    bar.append(svg('rect', { x: 0, y: 0, width: Math.max(1, (100 * b.value) / max), height: 10, class: 'bar' }));
    const content = [h('bdi', { class: 'bar-label', title: shown }, shown), bar, h('span', { class: 'bar-value' }, h('span', { class: 'sr-only' }, ': '), String(b.value))];
    list.append(h('li', null, b.href === undefined ? h('span', { class: 'bar-row' }, content) : h('a', { class: 'bar-row', href: b.href, title: `${shown}: ${b.value}, show these stations` }, content)));
  }
  figure.append(list);
  return figure;
}

export interface Segment {
  readonly key: string;
  readonly label: string;
  readonly value: number;
}

/** One stacked bar (a wave's members by state), as wide as its container. */
export function stackedBar(label: string, total: number, segments: readonly Segment[]): SVGSVGElement {
  const width = 400;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} 18`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `${label}: ${segments.filter((s) => s.value > 0).map((s) => `${s.value} ${s.label}`).join(', ') || 'none yet'} of ${total}`,
    class: 'stack',
  });
  chart.append(svg('rect', { x: 0, y: 0, width, height: 18, class: 'stack-bg' }));
  let x = 0;
  for (const s of segments) {
    if (s.value <= 0 || total <= 0) continue;
    const w = (width * s.value) / total;
    const rect = svg('rect', { x, y: 0, width: w, height: 18, class: `seg seg-${s.key}` });
    rect.append(svg('title', {}, `${s.label}: ${s.value}`));
    chart.append(rect);
    x += w;
  }
  return chart;
}
