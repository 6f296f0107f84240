import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { startAzuriteOrSkip, type Azurite } from './support/azurite.js';
import { bscupsJson } from './support/cli-in-process.js';
import { createTestSchema, shouldRunPostgresSuite, type TestSchema } from './support/postgres.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';

// Two `bscups serve` processes share one PostgreSQL schema and one Azure Blob account (Azurite).
const SERVE_ARGS: string[] = ['--allow-unauthenticated'];

let schema: TestSchema | undefined;
let azurite: Azurite | undefined;
let a: ServeProcess | undefined;
let b: ServeProcess | undefined;
let env: Record<string, string> = {};
let work = '';

const runs = (await shouldRunPostgresSuite('two-replica end-to-end')) ? true : false;

describe.runIf(runs)('two replicas on PostgreSQL and Azure Blob Storage', () => {
  beforeAll(async () => {
    azurite = await startAzuriteOrSkip('two-replica end-to-end');
    if (azurite === undefined) return;
    schema = await createTestSchema();
    env = { BSCUPS_DATABASE: schema.url, BSCUPS_BLOBS: azurite.connectionString };
    work = await mkdtemp(join(tmpdir(), 'bscups-replicas-'));
    // Both start at once: migrations must run exactly once under the advisory lock.
    [a, b] = await Promise.all([startServeProcess(env, SERVE_ARGS), startServeProcess(env, SERVE_ARGS)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await azurite?.stop();
    await schema?.drop();
  });

  it('both replicas are ready', async () => {
    expect(azurite, 'Azurite must run for this suite').toBeDefined();
    for (const r of [a!, b!]) {
      const res = await fetch(`${r.url}/readyz`);
      expect(res.status).toBe(200);
    }
  });

  it('configured through one, a station converges through the other', async () => {
    const eui = '00000000000000C1';
    const home = join(work, 'c1');
    await initStationHome(home, { cupsUri: b!.url, version: '1.0.0' });
    await bscupsJson(['station', 'add', eui, '--tc-uri', 'ws://127.0.0.1:6092', '--cups-uri', a!.url], env);
    const st = createSimulatedStation({ home, eui });
    const first = await st.exchange(); // through B: gets the new TC URI and is moved to A
    expect(first.applied.sort()).toEqual(['cupsUri', 'tcUri']);
    const second = await st.exchange(); // through A: nothing left
    expect(second.nothingToChange).toBe(true);
    const shown = await bscupsJson<{ inSync: boolean; reported: { cupsUri: string } }>(['station', 'show', eui], env);
    expect(shown.inSync).toBe(true);
    expect(shown.reported.cupsUri).toBe(a!.url);
  });

  it('firmware uploaded once to Azure Blob is delivered intact by either replica', async () => {
    const keys = await bscupsJson<{ crc: number }>(['keys', 'generate', '--out', join(work, 'keys')]);
    expect(keys.crc).toBeGreaterThan(0);
    const update = join(work, 'update.sh');
    await writeFile(update, `#!/bin/sh\nprintf '2.0.0\\n' > "$STATION_HOME/version.txt"\n#${'x'.repeat(6 * 1024 * 1024)}\n`);
    const stations = [
      { eui: '00000000000000C2', via: a! },
      { eui: '00000000000000C3', via: b! },
    ];
    for (const s of stations) {
      await initStationHome(join(work, s.eui), { cupsUri: s.via.url, version: '1.0.0', sigKeys: [await readFile(join(work, 'keys', 'sig-0.key'))] });
      await bscupsJson(['station', 'add', s.eui], env);
    }
    await bscupsJson(['firmware', 'upgrade', '--station', ...stations.map((s) => s.eui), '--package', '2.0.0', '--file', update, '--sign-with', join(work, 'keys', 'sig-0.pem')], env);
    for (const s of stations) {
      const st = createSimulatedStation({ home: join(work, s.eui), eui: s.eui });
      const r = await st.exchange();
      expect(r.update).toMatchObject({ outcome: 'verified', ran: true, exitCode: 0 });
      expect((await st.exchange()).request.package).toBe('2.0.0');
    }
    const status = await bscupsJson<{ eui: string; firmware: { state: string; offers: number } }[]>(['firmware', 'status'], env);
    for (const s of stations) expect(status.find((x) => x.eui === s.eui)?.firmware).toMatchObject({ state: 'upgraded', offers: 1 });
  });

  it('simultaneous requests for one station through both replicas lose no offer', async () => {
    const eui = '00000000000000C4';
    const sigKey = await readFile(join(work, 'keys', 'sig-0.key'));
    await bscupsJson(['station', 'add', eui], env);
    const noop = join(work, 'noop.sh');
    await writeFile(noop, '#!/bin/sh\nexit 0\n');
    await bscupsJson(['firmware', 'upgrade', '--station', eui, '--package', '9.0.0', '--file', noop, '--sign-with', join(work, 'keys', 'sig-0.pem'), '--max-offers', '10'], env);
    // One home per concurrent exchange: a station never runs two exchanges at once in one folder.
    const clients = await Promise.all(
      [a!, b!, a!, b!].map(async (server, i) => {
        const home = join(work, `c4-${i}`);
        await initStationHome(home, { cupsUri: server.url, version: '1.0.0', sigKeys: [sigKey] });
        return createSimulatedStation({ home, eui });
      }),
    );
    const results = await Promise.all(clients.map((c) => c.exchange()));
    const offered = results.filter((r) => r.update !== undefined).length;
    expect(offered).toBe(4);
    const [status] = await bscupsJson<{ firmware: { offers: number } }[]>(['firmware', 'status', '--station', eui], env);
    expect(status?.firmware.offers).toBe(offered);
  });
});
