import { CupsError } from '../core/errors.js';
import { describeValue } from './describe-value.js';

const EUI_MAX = (1n << 64n) - 1n;
const HEX16 = /^[0-9a-f]{16}$/i;
const BYTE_GROUPS = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(?:\1[0-9a-f]{2}){6}$/i;
const G = '([0-9a-f]{1,4})';
// The ID6 shapes with "::" that the station's encId6 produces (PROTOCOL.md
// section 3), in group order g0..g3; the four-group shape is read by fullId6.
// Anything else (e.g. `1:2::3`) is refused rather than guessed.
const ID6_SHORT: readonly (readonly [RegExp, readonly (number | null)[]])[] = [
  [new RegExp(`^::${G}$`, 'i'), [null, null, null, 1]],
  [new RegExp(`^::${G}:${G}$`, 'i'), [null, null, 1, 2]],
  [new RegExp(`^${G}::$`, 'i'), [1, null, null, null]],
  [new RegExp(`^${G}:${G}::$`, 'i'), [1, 2, null, null]],
  [new RegExp(`^${G}::${G}$`, 'i'), [1, null, null, 2]],
];

function invalidEui(field: string, what: string): CupsError {
  return new CupsError(
    'invalid_eui',
    'invalid_argument',
    `field "${field}" ${what}; give the 64-bit EUI as 16 hex digits (0016C001FF10A235), ` +
      `byte groups (00-16-C0-01-FF-10-A2-35), or the station's ID6 form (16:c001:ff10:a235)`,
    { field },
  );
}

function fromBigInt(value: bigint): string {
  return value.toString(16).toUpperCase().padStart(16, '0');
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * The four-group ID6 form (16:c001:ff10:a235), the one every station with a
 * real EUI sends in each request, read without a regex (it is on the station's
 * poll path); undefined for anything else.
 */
function fullId6(text: string): string | undefined {
  let hex = '';
  let start = 0;
  for (let group = 0; group < 4; group++) {
    const end = group === 3 ? text.length : text.indexOf(':', start);
    const length = end - start;
    if (end < 0 || length < 1 || length > 4) return undefined;
    for (let i = start; i < end; i++) if (!isHexDigit(text.charCodeAt(i))) return undefined;
    hex += '0000'.slice(length) + text.slice(start, end);
    start = end + 1;
  }
  return hex.toUpperCase();
}

/** An ID6 form with "::" (an EUI with zero groups); undefined for anything else. */
function shortId6(text: string): string | undefined {
  if (!text.includes('::')) return undefined;
  for (const [shape, slots] of ID6_SHORT) {
    const m = shape.exec(text);
    if (!m) continue;
    let hex = '';
    for (const slot of slots) hex += slot === null ? '0000' : (m[slot] ?? '').padStart(4, '0');
    return hex.toUpperCase();
  }
  return undefined;
}

/**
 * Parse a station EUI from any form clients send (ID6, 16 hex digits, byte
 * groups, JSON integer, bigint) into the canonical 16 uppercase hex digits.
 */
export function parseEui(value: unknown, field = 'eui'): string {
  if (typeof value === 'bigint') {
    if (value < 0n || value > EUI_MAX) throw invalidEui(field, 'is outside the 64-bit range');
    return fromBigInt(value);
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw invalidEui(field, `must be a non-negative integer, got ${describeValue(value)}`);
    // Above 2^53 JSON numbers have already lost their low bits: refusing beats answering the wrong station.
    if (!Number.isSafeInteger(value)) {
      throw invalidEui(field, `is a number too large to be exact (${value} > 2^53-1, precision is lost); send it as a string`);
    }
    return fromBigInt(BigInt(value));
  }
  if (typeof value !== 'string') throw invalidEui(field, `must be a string or integer, got ${describeValue(value)}`);
  const text = value.trim();
  // What a station sends first: its ID6 form never matches the other two.
  const full = fullId6(text);
  if (full !== undefined) return full;
  if (HEX16.test(text)) return text.toUpperCase();
  if (BYTE_GROUPS.test(text)) return text.replace(/[-:]/g, '').toUpperCase();
  const short = shortId6(text);
  if (short !== undefined) return short;
  throw invalidEui(field, `is not an EUI: ${describeValue(value)}`);
}

/** Parse only the ID6 form (PROTOCOL.md section 3) into the canonical 16 uppercase hex digits. */
export function parseId6(text: string): string {
  const trimmed = typeof text === 'string' ? text.trim() : undefined;
  const id6 = trimmed === undefined ? undefined : (fullId6(trimmed) ?? shortId6(trimmed));
  if (id6 === undefined) {
    throw new CupsError(
      'invalid_eui',
      'invalid_argument',
      `${describeValue(text)} is not an ID6 EUI; expected a form like 16:c001:ff10:a235, ::1, 1::, 1:2:: or 1::2`,
      { field: 'id6' },
    );
  }
  return id6;
}

/** Format an EUI exactly as the station's encId6 does (lowercase, no leading zeros, its six shapes only). */
export function formatId6(eui: string): string {
  const hex = parseEui(eui, 'eui');
  const [g0, g1, g2, g3] = [0, 4, 8, 12].map((at) => parseInt(hex.slice(at, at + 4), 16).toString(16)) as [string, string, string, string];
  const zero = (g: string): boolean => g === '0';
  if (zero(g0) && zero(g1) && zero(g2)) return `::${g3}`;
  if (zero(g0) && zero(g1)) return `::${g2}:${g3}`;
  if (zero(g2) && zero(g3) && zero(g1)) return `${g0}::`;
  if (zero(g2) && zero(g3)) return `${g0}:${g1}::`;
  if (zero(g1) && zero(g2)) return `${g0}::${g3}`;
  return `${g0}:${g1}:${g2}:${g3}`;
}
