import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/fixtures.js';
import { CupsError } from '../core/errors.js';
import { formatId6, parseEui, parseId6 } from './eui.js';

// Every row of PROTOCOL.md section 3.
const TABLE: readonly [string, string][] = [
  ['0000000000000001', '::1'],
  ['0000000000000000', '::0'],
  ['0000000000010002', '::1:2'],
  ['0001000000000000', '1::'],
  ['0001000200000000', '1:2::'],
  ['0001000000000002', '1::2'],
  ['0016C001FF10A235', '16:c001:ff10:a235'],
  ['0001000000020003', '1:0:2:3'],
  ['0000000100020003', '0:1:2:3'],
];


function expectEuiError(fn: () => unknown, field: string, text?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CupsError);
    const err = e as CupsError;
    expect(err.code).toBe('invalid_eui');
    expect(err.kind).toBe('invalid_argument');
    expect(err.message).toContain(`"${field}"`);
    expect(err.details).toEqual({ field });
    if (text) expect(err.message).toMatch(text);
    return;
  }
  throw new Error('expected an invalid_eui error');
}

describe('[3] ID6 table', () => {
  it.each(TABLE)('%s -> %s', (eui, id6) => {
    expect(formatId6(eui)).toBe(id6);
  });

  it.each(TABLE)('%s <- %s', (eui, id6) => {
    expect(parseId6(id6)).toBe(eui);
    expect(parseEui(id6)).toBe(eui);
  });

  it('accepts "0" as ::0 (the table writes the EUI 0 as 0)', () => {
    expect(formatId6('0'.padStart(16, '0'))).toBe('::0');
    expect(formatId6(0 as unknown as string)).toBe('::0');
  });

  it('parses ID6 leniently on case and with leading zeros inside groups', () => {
    expect(parseId6('16:C001:FF10:A235')).toBe('0016C001FF10A235');
    expect(parseId6('0016:c001:ff10:a235')).toBe('0016C001FF10A235');
    expect(parseId6('::0:1')).toBe('0000000000000001');
    expect(parseId6('0::')).toBe('0000000000000000');
  });

  it('reads the four-group form by hand exactly as its shape reads it, over random near-misses', () => {
    const shape = /^([0-9a-f]{1,4}):([0-9a-f]{1,4}):([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;
    const random = seededRandom(6);
    const alphabet = '0123456789abcdefABCDEFgG: -';
    let accepted = 0;
    for (let n = 0; n < 20_000; n++) {
      const length = Math.floor(random() * 22);
      let text = '';
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
      // Mostly four groups of one to four digits, with a character changed now and then.
      if (n % 2 === 0) text = [0, 1, 2, 3].map(() => Array.from({ length: 1 + Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * (n % 4 === 0 ? 22 : 27))]).join('')).join(':');
      if (text.includes('::')) continue;
      // Both readers take the text trimmed, as a station request's field is.
      const m = shape.exec(text.trim());
      const expected = m === null ? undefined : m.slice(1).map((g) => g.padStart(4, '0')).join('').toUpperCase();
      let got: string | undefined;
      try {
        got = parseId6(text);
      } catch {
        got = undefined;
      }
      expect(got, JSON.stringify(text)).toBe(expected);
      if (expected !== undefined) {
        accepted++;
        expect(parseEui(text)).toBe(expected);
      }
    }
    expect(accepted).toBeGreaterThan(1_000);
  });

  it.each(['::', '1:2::3', '1::2:3', '::1:2:3', '1:2:3::', '12345::', 'g::1', '1:2:3', ':1:2:3:4', '1:2:3:4:', ':::1', '', '1:::2', '12345:1:2:3', '1:2:3:12345', '1:2:3:4:5', '1:2:3:4 x', '1:2:3:4\t:', '1:2:3:g'])(
    'refuses %j, which is not one of the station shapes',
    (text) => {
      expect(() => parseId6(text)).toThrow(CupsError);
      expectEuiError(() => parseEui(text, 'router'), 'router');
    },
  );

  it('round-trips random EUIs through formatId6/parseId6, biased towards zero groups', () => {
    const rnd = seededRandom(7);
    const group = (): string => (rnd() < 0.4 ? '0000' : Math.floor(rnd() * 0x10000).toString(16).padStart(4, '0'));
    for (let i = 0; i < 2000; i++) {
      const eui = (group() + group() + group() + group()).toUpperCase();
      const id6 = formatId6(eui);
      expect(id6).toMatch(/^[0-9a-f:]+$/);
      expect(id6).not.toMatch(/(^|:)0[0-9a-f]/);
      expect(parseId6(id6)).toBe(eui);
      expect(parseEui(id6)).toBe(eui);
    }
  });
});

describe('parseEui', () => {
  it.each([
    ['0016c001ff10a235', '0016C001FF10A235'],
    ['0016C001FF10A235', '0016C001FF10A235'],
    ['00-16-C0-01-FF-10-A2-35', '0016C001FF10A235'],
    ['00:16:c0:01:ff:10:a2:35', '0016C001FF10A235'],
    ['  0016C001FF10A235 ', '0016C001FF10A235'],
    ['FFFFFFFFFFFFFFFF', 'FFFFFFFFFFFFFFFF'],
  ])('accepts %j', (input, canonical) => {
    expect(parseEui(input)).toBe(canonical);
  });

  it('accepts safe JSON integers and bigints', () => {
    expect(parseEui(0x0016c001ff10a2)).toBe('000016C001FF10A2');
    expect(parseEui(Number.MAX_SAFE_INTEGER)).toBe('001FFFFFFFFFFFFF');
    expect(parseEui(0)).toBe('0000000000000000');
    expect(parseEui(0x0016c001ff10a235n)).toBe('0016C001FF10A235');
    expect(parseEui(0xffffffffffffffffn)).toBe('FFFFFFFFFFFFFFFF');
  });

  it('refuses unsafe integers because precision is already lost', () => {
    expectEuiError(() => parseEui(2 ** 53, 'router'), 'router', /precision/);
    expectEuiError(() => parseEui(Number(0xb827ebfffe000001n), 'router'), 'router', /precision/);
    expect(parseEui(Number(0x0016c001ff10a235n))).toBe('0016C001FF10A235');
  });

  it.each<[unknown, RegExp]>([
    [-1, /non-negative/],
    [1.5, /non-negative integer/],
    [Number.NaN, /non-negative integer/],
    [Number.POSITIVE_INFINITY, /non-negative integer/],
    [-1n, /64-bit/],
    [1n << 64n, /64-bit/],
    [null, /string or integer/],
    [true, /string or integer/],
    [{}, /string or integer/],
    [['0016C001FF10A235'], /string or integer/],
    ['0016C001FF10A23', /not an EUI/],
    ['0016C001FF10A2355', /not an EUI/],
    ['0016C001FF10A23G', /not an EUI/],
    ['00-16:C0-01-FF-10-A2-35', /not an EUI/],
    ['00-16-C0-01-FF-10-A2', /not an EUI/],
    ['0-16-C0-01-FF-10-A2-35', /not an EUI/],
    ['', /not an EUI/],
  ])('refuses %o naming the field', (value, text) => {
    expectEuiError(() => parseEui(value, 'router'), 'router', text);
  });

  it('names a default field and gives an example of a good value', () => {
    expectEuiError(() => parseEui('nope'), 'eui', /0016C001FF10A235/);
  });

  it('formatId6 accepts any EUI form and refuses garbage', () => {
    expect(formatId6('00-16-C0-01-FF-10-A2-35')).toBe('16:c001:ff10:a235');
    expect(formatId6('16:C001:FF10:A235')).toBe('16:c001:ff10:a235');
    expect(() => formatId6('xyz')).toThrow(CupsError);
  });

  it('parseId6 refuses the hex form (it is for ID6 only)', () => {
    expect(() => parseId6('0016C001FF10A235')).toThrow(/not an ID6/);
  });
});
