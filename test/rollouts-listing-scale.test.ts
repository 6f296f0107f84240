import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { getRollout, listRolloutEvents, listRolloutMembers, listRollouts } from '../src/operations/rollouts.js';
import type { NewRollout, RolloutStore } from '../src/registry/index.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { createTestSchema, shouldRunPostgresSuite, type TestSchema } from './support/postgres.js';
import { operationContext } from './support/rollout-fleet.js';

// Rollout reads scale: the listing pages rollouts and takes each one's counts
// from one SQL aggregate, reading no member row, and one rollout's members and
// events are read a page at a time, filtered in SQL. ~6,000 members on SQLite
// and PostgreSQL; member rows read are counted by a wrapper around the real store.
const pgRuns = await shouldRunPostgresSuite('rollout listings at scale');
const BIG = 5000;
const SMALL = 60;

const eui = (i: number) => `5C${i.toString(16).toUpperCase().padStart(14, '0')}`;

function newRollout(id: string, euis: readonly string[], waveSizes: readonly number[]): NewRollout {
  return {
    id,
    name: id,
    change: { kind: 'tcUri', uri: 'wss://lns.example:6887' },
    selector: { labels: [], euis },
    plan: { waves: waveSizes.map((count) => ({ count })), successThreshold: 1, failureBudget: { count: 0 }, deadlineMs: 3_600_000, soakMs: 0, includeNew: false },
    waveSizes,
    rollbackOf: null,
    createdBy: 'test',
    members: euis.map((e, i) => ({ eui: e, wave: waveSizes.findIndex((size) => i < size) + 1 })),
  };
}

/** The real store, with every member row it hands out counted. */
function counting(store: RolloutStore) {
  const read = { memberRows: 0, aggregates: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
        if (prop === 'listMembers') read.memberRows += (result as unknown[]).length;
        if (prop === 'listMemberPage') read.memberRows += (result as { items: unknown[] }).items.length;
        if (prop === 'memberCounts') read.aggregates += 1;
        return result;
      };
    },
  });
  return { wrapped, read };
}

describe.each([
  { name: 'SQLite', postgres: false },
  { name: 'PostgreSQL', postgres: true },
])('rollout listings on $name', ({ postgres }) => {
  let dir: string;
  let schema: TestSchema | undefined;
  let rt: Runtime;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bscups-rollout-scale-'));
    if (postgres && !pgRuns) return;
    if (postgres) schema = await createTestSchema();
    rt = await openRuntime(loadConfig({ database: schema?.url ?? join(dir, 'registry.sqlite'), blobs: join(dir, 'blobs') }));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    // The big one first (oldest), then one overlapping it (its 100 shared stations are
    // skipped: the big one holds them), then many small ones.
    await rt.rollouts.createRollout(newRollout('big', Array.from({ length: BIG }, (_, i) => eui(i)), [1, 250, BIG]), new Date(t0));
    await rt.rollouts.createRollout(newRollout('overlap', Array.from({ length: 1000 }, (_, i) => eui(BIG - 100 + i)), [1000]), new Date(t0 + 1000));
    for (let i = 0; i < SMALL; i++) await rt.rollouts.createRollout(newRollout(`small-${String(i).padStart(2, '0')}`, [eui(100_000 + i)], [1]), new Date(t0 + 2000 + i * 1000));
  }, 120_000);

  afterAll(async () => {
    await rt?.close();
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(postgres && !pgRuns)('lists rollouts a page at a time with their counts, reading no member row', async () => {
    const { wrapped, read } = counting(rt.rollouts);
    const ctx = { ...operationContext(rt), rollouts: wrapped };
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const started = performance.now();
      const page = await listRollouts(ctx, { limit: 25, ...(cursor === undefined ? {} : { cursor }) });
      const ms = performance.now() - started;
      expect(page.items.length).toBeLessThanOrEqual(25);
      expect(ms, `page ${pages + 1} took ${ms.toFixed(0)} ms`).toBeLessThan(1000);
      seen.push(...page.items.map((v) => v.rollout.id));
      if (page.items.some((v) => v.rollout.id === 'big')) {
        const big = page.items.find((v) => v.rollout.id === 'big')!;
        expect(big.progress.totals).toMatchObject({ pending: BIG, offered: 0, skipped: 0 });
        expect(big.progress.waves.map((w) => w.stations)).toEqual([1, 249, BIG - 250]);
      }
      if (page.items.some((v) => v.rollout.id === 'overlap')) {
        expect(page.items.find((v) => v.rollout.id === 'overlap')!.progress.totals).toMatchObject({ pending: 900, skipped: 100 });
      }
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    // Most recent first, every rollout once, over three pages.
    expect(pages).toBe(3);
    expect(seen).toEqual([...Array.from({ length: SMALL }, (_, i) => `small-${String(SMALL - 1 - i).padStart(2, '0')}`), 'overlap', 'big']);
    expect(read.memberRows).toBe(0);
    expect(read.aggregates).toBe(3);
    // One rollout alone: the same counts, still no member row.
    expect((await getRollout(ctx, 'big')).progress.totals.pending).toBe(BIG);
    expect(read.memberRows).toBe(0);
    // Only some states.
    const paused = await listRollouts(ctx, { states: ['paused'] });
    expect(paused.items).toEqual([]);
    await expect(listRollouts(ctx, { limit: 5, cursor: 'bogus' })).rejects.toMatchObject({ code: 'invalid_cursor' });
  }, 60_000);

  it.skipIf(postgres && !pgRuns)("pages one rollout's members in EUI order, filtered by state or wave in SQL", async () => {
    const { wrapped, read } = counting(rt.rollouts);
    const ctx = { ...operationContext(rt), rollouts: wrapped };
    const skipped: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listRolloutMembers(ctx, 'overlap', { states: ['skipped'], limit: 40, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.items.every((m) => m.state === 'skipped')).toBe(true);
      skipped.push(...page.items.map((m) => m.eui));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(skipped).toEqual(Array.from({ length: 100 }, (_, i) => eui(BIG - 100 + i)));
    // Only the rows asked for were read.
    expect(read.memberRows).toBe(100);
    const wave2 = await listRolloutMembers(ctx, 'big', { wave: 2, limit: 1000 });
    expect(wave2.items).toHaveLength(249);
    expect(wave2.nextCursor).toBeNull();
    const first = await listRolloutMembers(ctx, 'big', { limit: 100 });
    expect(first.items.map((m) => m.eui)).toEqual(Array.from({ length: 100 }, (_, i) => eui(i)));
    const second = await listRolloutMembers(ctx, 'big', { limit: 100, cursor: first.nextCursor! });
    expect(second.items[0]?.eui).toBe(eui(100));
    await expect(listRolloutMembers(ctx, 'big', { states: ['lost'] })).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(listRolloutMembers(ctx, 'nope', {})).rejects.toMatchObject({ code: 'rollout_not_found' });
  }, 60_000);

  it.skipIf(postgres && !pgRuns)("pages one rollout's events, oldest or newest first", async () => {
    const ctx = operationContext(rt);
    const all = await listRolloutEvents(ctx, 'overlap', { limit: 1000 });
    expect(all.items.length).toBeGreaterThan(0);
    const asc: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await listRolloutEvents(ctx, 'overlap', { limit: 1, ...(cursor === undefined ? {} : { cursor }) });
      asc.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(asc).toEqual(all.items.map((e) => e.id));
    const newest = await listRolloutEvents(ctx, 'overlap', { order: 'desc', limit: 1 });
    expect(newest.items[0]?.id).toBe(asc.at(-1));
    const created = await listRolloutEvents(ctx, 'overlap', { types: ['created'] });
    expect(created.items.map((e) => e.type)).toEqual(['created']);
  }, 60_000);
});
