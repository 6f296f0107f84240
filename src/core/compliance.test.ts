import { describe, expect, it } from 'vitest';
import { complianceState, describeCompliance, newestByModel, newestFor, summarizeCompliance, type LibraryPackage } from './compliance.js';
import { newestPackage } from './versions.js';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));
const pkg = (p: string, minute: number, models: string[] = []): LibraryPackage => ({ package: p, models, createdAt: at(minute) });

describe('newestPackage', () => {
  it.each([
    { name: 'highest semantic version, whatever the upload order', list: [pkg('2.1.0', 1), pkg('2.10.0', 0), pkg('2.9.1', 2)], want: '2.10.0' },
    { name: 'a release is newer than its pre-release', list: [pkg('2.1.0', 0), pkg('2.1.0-rc.1', 1)], want: '2.1.0' },
    { name: 'the same version spelt twice: the later upload', list: [pkg('v2.1.0', 0), pkg('2.1.0', 1)], want: '2.1.0' },
    { name: 'any free-form version: the last upload', list: [pkg('2.1.0', 2), pkg('nightly-7', 1), pkg('3.0.0', 0)], want: '2.1.0' },
    { name: 'one package', list: [pkg('x', 0)], want: 'x' },
  ])('$name', ({ list, want }) => {
    expect(newestPackage(list)?.package).toBe(want);
    expect(newestPackage([...list].reverse())?.package).toBe(want);
  });
  it('none: undefined', () => expect(newestPackage([])).toBeUndefined());
});

describe('newestByModel', () => {
  const library = [pkg('1.0.0', 0, ['rpi']), pkg('2.0.0', 1, ['rpi', 'linux']), pkg('1.5.0', 2), pkg('1.1.0', 3, ['corecell'])];
  const newest = newestByModel(library);
  it.each([
    ['rpi', '2.0.0'],
    ['linux', '2.0.0'],
    // An any-model package is newer than the one built for corecell.
    ['corecell', '1.5.0'],
    ['kerlink', '1.5.0'],
    [null, null],
  ] as const)('%s: %s', (model, want) => expect(newestFor(newest, model)).toBe(want));
  it('no any-model package: a model the library does not name has none', () => {
    expect(newestFor(newestByModel([pkg('2.0.0', 0, ['rpi'])]), 'kerlink')).toBeNull();
  });
});

describe('complianceState', () => {
  it.each([
    { newest: '2.0.0', model: null, package: null, changing: false, want: 'unknown' },
    { newest: null, model: 'rpi', package: '1.0.0', changing: true, want: 'no_package' },
    { newest: '2.0.0', model: 'rpi', package: '2.0.0', changing: true, want: 'latest' },
    { newest: '2.0.0', model: 'rpi', package: '2.1.0', changing: false, want: 'ahead' },
    { newest: '2.0.0', model: 'rpi', package: '1.0.0', changing: true, want: 'in_progress' },
    { newest: '2.0.0', model: 'rpi', package: '1.0.0', changing: false, want: 'behind' },
    { newest: '2.0.0', model: 'rpi', package: null, changing: false, want: 'behind' },
    // A free-form version cannot be ahead: it could have the library's newest.
    { newest: '2.0.0', model: 'rpi', package: 'custom', changing: false, want: 'behind' },
    { newest: 'nightly-7', model: 'rpi', package: '9.9.9', changing: false, want: 'behind' },
  ] as const)('$model $package vs $newest (changing: $changing): $want', ({ newest, model, package: p, changing, want }) => {
    expect(complianceState(newest, { model, package: p }, changing)).toBe(want);
  });
});

describe('summarizeCompliance', () => {
  const library = [pkg('2.1.0', 0, ['linux']), pkg('2.0.0', 1, ['linux'])];
  const summary = summarizeCompliance(library, [
    { model: 'linux', package: '2.1.0', stations: 1204, changing: 3 },
    { model: 'linux', package: '2.0.0', stations: 100, changing: 8 },
    { model: 'linux', package: null, stations: 6, changing: 0 },
    { model: 'kerlink', package: '1.0', stations: 4000, changing: 2 },
    { model: null, package: null, stations: 9, changing: 1 },
  ]);
  it('counts per model, models with a package first', () => {
    expect(summary.map((m) => [m.model, m.newest, m.stations])).toEqual([['linux', '2.1.0', 1310], ['kerlink', null, 4000], [null, null, 9]]);
    expect(summary[0]?.states).toEqual({ latest: 1204, behind: 98, in_progress: 8, ahead: 0, no_package: 0, unknown: 0 });
    expect(summary[1]?.states.no_package).toBe(4000);
    expect(summary[2]?.states.unknown).toBe(9);
  });
  it('reads as the panel says it', () => {
    expect(describeCompliance(summary[0] as (typeof summary)[0])).toBe('1,204 of 1,310 linux gateways on 2.1.0; 98 behind; 8 in progress');
    expect(describeCompliance(summary[1] as (typeof summary)[0])).toBe('4,000 kerlink gateways: no library package for this model');
  });
});
