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
