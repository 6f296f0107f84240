import { h } from './dom.js';

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
}

/** Horizontal bars, one per row, with the value written at the end; a data table follows for screen readers. */
export function barChart(title: string, bars: readonly Bar[]): HTMLElement {
  const figure = h('figure', { class: 'chart' }, h('figcaption', null, title));
  if (bars.length === 0) {
    figure.append(h('p', { class: 'empty' }, 'No data yet.'));
    return figure;
  }
  const max = Math.max(1, ...bars.map((b) => b.value));
  const row = 28;
  const labelW = 110;
  const width = 360;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${bars.length * row}`, role: 'img', 'aria-label': `${title}: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`, class: 'bars' });
  bars.forEach((b, i) => {
    const y = i * row;
    const w = Math.max(2, ((width - labelW - 50) * b.value) / max);
    chart.append(svg('text', { x: labelW - 6, y: y + 19, 'text-anchor': 'end', class: 'bar-label' }, b.label.length > 13 ? `${b.label.slice(0, 12)}…` : b.label));
    const rect = svg('rect', { x: labelW, y: y + 6, width: w, height: row - 12, rx: 3, class: 'bar' });
    rect.append(svg('title', {}, `${b.label}: ${b.value}`));
    chart.append(rect);
    chart.append(svg('text', { x: labelW + w + 6, y: y + 19, class: 'bar-value' }, String(b.value)));
  });
  figure.append(chart);
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
