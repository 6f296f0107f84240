import { describe, expect, it } from 'vitest';
import { cellText, formatTable } from './output.js';

describe('table output', () => {
  it('aligns columns, upper-cases headers, and marks missing values', () => {
    const text = formatTable([{ eui: 'A', keys: [1, 2] }, { eui: 'BBBB', keys: [] }, { eui: 'C' }], ['eui', 'keys']);
    expect(text).toBe('EUI   KEYS\nA     1,2\nBBBB  none\nC     -\n');
  });

  it('says (none) for an empty table and prints dates without milliseconds', () => {
    expect(formatTable([], ['eui'])).toBe('EUI\n(none)\n');
    expect(cellText(new Date('2026-11-24T12:00:00.123Z'))).toBe('2026-11-24T12:00:00Z');
  });
});

describe('control characters in human output', () => {
  it('escapes terminal controls, newlines and bidi overrides so a value stays one visible cell', () => {
    expect(cellText('a\x1b[2Jb\nc\td\u009be\u202ef\x7f')).toBe('a\\x1b[2Jb\\nc\\td\\x9be\\u202ef\\x7f');
    const text = formatTable([{ model: 'rpi\n0016C001FFFFFFFF  forged' }], ['model']);
    expect(text.split('\n')).toHaveLength(3);
  });

  it('leaves ordinary text, including non-Latin letters, as it is', () => {
    expect(cellText('2.0.6(rpi/std) 2026-11-24 — Zürich 東京')).toBe('2.0.6(rpi/std) 2026-11-24 — Zürich 東京');
  });
});
