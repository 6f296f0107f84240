import { visible } from '../../core/visible-text.js';
import { h } from './dom.js';

export { visible };

/**
 * Untrusted text (names, labels, what stations report, audit details) shown
 * as text, isolated from its neighbours: a value ending in U+202E must not
 * reverse the EUI after it. Bidirectional controls and other invisible
 * characters are written as escapes by the rule the CLI uses too
 * (core/visible-text.ts: `\u202e`, `\n`), so the operator sees that they are there.
 */

/**
 * An untrusted value in a <bdi>, escaped; `cls` adds classes (e.g. `clip` to
 * cut a long value to one line); the full value is always the hover title.
 */
export function u(value: string | null | undefined, cls = '', none = ''): HTMLElement | string {
  if (value === null || value === undefined || value === '') return none;
  const shown = visible(value);
  return h('bdi', { class: cls === '' ? null : cls, title: shown }, shown);
}

/** A label as `key=value`, isolated and escaped. */
export function labelChip(key: string, value: string): HTMLElement {
  const shown = `${visible(key)}=${visible(value)}`;
  return h('span', { class: 'label', title: shown }, h('bdi', null, shown));
}

/** A CRC as the station logs it: 0x and eight upper-case hex digits. */
export function crcHex(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** "51 B", "12.3 KiB", "4.0 MiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i] ?? 'TiB'}`;
}

/** A duration in the largest unit that shows it exactly: "26 h", "7 d", "90 s", "1500 ms". */
export function duration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms} ms`;
  const s = ms / 1000;
  if (s >= 86400 && s % 86400 === 0) return `${s / 86400} d`;
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 60 && s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}
