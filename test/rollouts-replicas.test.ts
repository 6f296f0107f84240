import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { advanceRollouts } from '../src/operations/rollout-engine.js';
import { createRollout, showRollout } from '../src/operations/rollouts.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { startAzuriteOrSkip, type Azurite } from './support/azurite.js';
import { bscupsJson } from './support/cli-in-process.js';
import { createTestSchema, shouldRunPostgresSuite, type TestSchema } from './support/postgres.js';
import { createFleet, operationContext, pollRound, until, updateScript, type FleetStation } from './support/rollout-fleet.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';

// Two `bscups serve` processes on one PostgreSQL schema and one Azurite account,
// each running the rollout engine every 100 ms; the test process is a third
// evaluator. The rollout's own event log must show every wave started once and
// every station offered once.
const SERVE_ARGS = ['--allow-unauthenticated', '--admin-port', '0', '--rollout-interval', '0.1'];

let schema: TestSchema | undefined;
let azurite: Azurite | undefined;
let replicas: ServeProcess[] = [];
let env: Record<string, string> = {};
let work = '';
let rt: Runtime | undefined;
let ctx: RolloutContext;
let sigKey: Buffer;

const runs = await shouldRunPostgresSuite('rollouts across replicas');
const startReplicas = () => Promise.all([startServeProcess(env, SERVE_ARGS), startServeProcess(env, SERVE_ARGS)]);
const engine = () => advanceRollouts({ rollouts: rt!.rollouts, fleet: rt!.fleet, clock: () => new Date() }, () => undefined);

/** Each station polls replica i % 2. */
async function fleet(prefix: string, count: number, group: string): Promise<FleetStation[]> {
  return createFleet(ctx, { url: replicas[0]!.url, cupsUri: (i) => replicas[i % 2]!.url, dir: work, count, prefix, labels: { group }, sigKey });
}

/** What the rollout's event log says: waves started, and offers per station. */
async function history(id: string) {
  const events = (await showRollout(ctx, id)).events;
  const offers = new Map<string, number>();
  for (const e of events) if (e.type === 'offered' && e.eui !== null) offers.set(e.eui, (offers.get(e.eui) ?? 0) + 1);
  return { waves: events.filter((e) => e.type === 'wave_started').map((e) => e.wave), offers: [...offers.values()] };
}

describe.runIf(runs)('rollouts across two replicas on PostgreSQL and Azure Blob Storage', () => {
  beforeAll(async () => {
    azurite = await startAzuriteOrSkip('rollouts across replicas');
    if (azurite === undefined) return;
    schema = await createTestSchema();
    env = { BSCUPS_DATABASE: schema.url, BSCUPS_BLOBS: azurite.connectionString };
    work = await mkdtemp(join(tmpdir(), 'bscups-rollout-replicas-'));
    replicas = await startReplicas();
    rt = await openRuntime(loadConfig({ database: schema.url, blobs: azurite.connectionString }));
    ctx = operationContext(rt);
    await bscupsJson(['keys', 'generate', '--out', join(work, 'keys')]);
    sigKey = await readFile(join(work, 'keys', 'sig-0.key'));
    await writeFile(join(work, 'update.sh'), updateScript('2.0.0'));
    await bscupsJson(['firmware', 'upload', '--package', '2.0.0', '--file', join(work, 'update.sh'), '--sign-with', join(work, 'keys', 'sig-0.pem')], env);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await rt?.close();
    await azurite?.stop();
    await schema?.drop();
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it('two serve processes drive a rollout through all its waves, each wave started once', async () => {
    expect(azurite, 'Azurite must run for this suite').toBeDefined();
    const stations = await fleet('C10000', 12, 'replicas');
    await pollRound(stations);
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=replicas'], waves: '1,25%,50%,100%', deadline: '60s' });
    await until('rollout completed', async () => (await showRollout(ctx, rollout.id)).rollout.state === 'completed', () => Promise.all([pollRound(stations), engine(), engine()]), 90_000);
    const h = await history(rollout.id);
    expect(h.waves).toEqual([1, 2, 3, 4]);
    expect(h.offers).toEqual(Array(12).fill(1));
    const done = await showRollout(ctx, rollout.id);
    expect(done.progress.waves.map((w) => [w.stations, w.confirmed])).toEqual([[1, 1], [2, 2], [3, 3], [6, 6]]);
    for (const st of stations) expect((await readFile(join(st.home, 'version.txt'), 'utf8')).trim()).toBe('2.0.0');
  }, 120_000);

  it('rollout state survives a restart of every server process mid-wave', async () => {
    const stations = await fleet('C20000', 8, 'restart');
    await pollRound(stations);
    const { rollout } = await createRollout(ctx, { healthSoak: '0', firmware: '2.0.0', label: ['group=restart'], waves: '1,50%,100%', deadline: '60s' });
    // Mid-wave: wave 2 offered, and only some of its stations have taken the update.
    await until('wave 2 offered', async () => (await showRollout(ctx, rollout.id)).progress.waves[1]?.offered === 3, () => pollRound(stations.slice(0, 1)), 60_000);
    await pollRound(stations.slice(1, 2));
    const before = await showRollout(ctx, rollout.id);
    expect(before.rollout.wave).toBe(2);

    // One replica killed outright, the other stopped; two new ones on new ports.
    const killed = once(replicas[0]!.child, 'exit');
    replicas[0]!.child.kill('SIGKILL');
    await killed;
    await replicas[1]!.stop();
    replicas = await startReplicas();
    for (const [i, st] of stations.entries()) await writeFile(join(st.home, 'cups.uri'), `${replicas[i % 2]!.url}\n`);

    // The new processes continue where the old ones stopped: same wave, nothing decided is undone.
    const resumed = await showRollout(ctx, rollout.id);
    expect(resumed.rollout).toMatchObject({ state: 'running', wave: 2 });
    const decided = before.members.filter((m) => m.state !== 'pending');
    expect(decided.length).toBe(4); // the canary and wave 2
    for (const m of decided) {
      const now = resumed.members.find((x) => x.eui === m.eui)?.state;
      expect(m.state === 'confirmed' ? ['confirmed'] : ['offered', 'confirmed']).toContain(now);
    }
    await until('rollout completed', async () => (await showRollout(ctx, rollout.id)).rollout.state === 'completed', () => pollRound(stations), 90_000);
    const h = await history(rollout.id);
    expect(h.waves).toEqual([1, 2, 3]);
    expect(h.offers).toEqual(Array(8).fill(1));
  }, 180_000);
});
