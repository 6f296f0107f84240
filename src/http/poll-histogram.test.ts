import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/fixtures.js';
import { PollHistogram } from './poll-histogram.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function pair(): { ours: PollHistogram; theirs: Histogram; oursRegistry: Registry; theirsRegistry: Registry } {
  const oursRegistry = new Registry();
  const theirsRegistry = new Registry();
  const config = { name: 'poll_seconds', help: 'time to answer', buckets: BUCKETS };
  return {
    ours: new PollHistogram({ ...config, registers: [oursRegistry] }),
    theirs: new Histogram({ ...config, registers: [theirsRegistry] }),
    oursRegistry,
    theirsRegistry,
  };
}

describe('PollHistogram', () => {
  it("scrapes and reads exactly as prom-client's Histogram given the same values, bounds and beyond included", async () => {
    const { ours, theirs, oursRegistry, theirsRegistry } = pair();
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    const random = seededRandom(9);
    const values = [...BUCKETS, 0, 7, 1e9, ...Array.from({ length: 5_000 }, () => random() ** 4 * 6)];
    for (const v of values) {
      ours.observe(v);
      theirs.observe(v);
    }
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    expect(await ours.get()).toEqual(await theirs.get());
    expect(await oursRegistry.getMetricsAsJSON()).toEqual(await theirsRegistry.getMetricsAsJSON());
    // Not vacuous: something is in more than one bucket and beyond the last bound.
    const text = await oursRegistry.metrics();
    expect(text).toMatch(/poll_seconds_bucket\{le="0.001"\} [1-9]/);
    expect(text).toContain(`poll_seconds_count ${values.length}`);

    // After a reset, no series at all until the next observation, as prom-client's.
    ours.reset();
    theirs.reset();
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    expect(await oursRegistry.metrics()).not.toContain('poll_seconds_count');
    ours.observe(0.02);
    theirs.observe(0.02);
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
  });

  it('refuses a value that is not a finite number', () => {
    const { ours } = pair();
    expect(() => ours.observe(Number.NaN)).toThrow(TypeError);
    expect(() => ours.observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });
});
