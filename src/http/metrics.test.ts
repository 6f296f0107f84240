import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

const count = (text: string, outcome: string): number | undefined => {
  const m = new RegExp(`^bscups_update_info_requests_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
};

describe('update-info metrics', () => {
  it('counts each answer once by outcome, however often and by whatever the counter is read', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < 3; i++) metrics.observeExchange('ok', 0.0004);
    metrics.observeExchange('invalid', 0.002);
    const first = await metrics.registry.metrics();
    expect(count(first, 'ok')).toBe(3);
    expect(count(first, 'invalid')).toBe(1);
    // A second read adds nothing; get() (what /server/stats reads) sees the same.
    expect(await metrics.registry.metrics()).toBe(first);
    const values = (await metrics.registry.getSingleMetric('bscups_update_info_requests_total')?.get())?.values ?? [];
    expect(values.map((v) => [v.labels['outcome'], v.value])).toEqual([['ok', 3], ['invalid', 1]]);
    metrics.observeExchange('ok', 0.0004);
    metrics.observeExchange('ok', 0.03);
    const later = await metrics.registry.metrics();
    expect(count(later, 'ok')).toBe(5);
    expect(count(later, 'invalid')).toBe(1);
    expect(later).toMatch(/^bscups_update_info_duration_seconds_count 6$/m);
    expect(later).toMatch(/^bscups_update_info_duration_seconds_bucket\{le="0.001"\} 4$/m);
  });
});
