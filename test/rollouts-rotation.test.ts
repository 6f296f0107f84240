import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCredentials } from '../src/operations/credentials.js';
import type { RolloutContext } from '../src/operations/firmware-library.js';
import { createRollout, showRollout } from '../src/operations/rollouts.js';
import { registerStation } from '../src/operations/stations.js';
import { certificateFingerprint } from '../src/pki/index.js';
import { loadCa } from '../src/pki/pki-folder.js';
import type { IssuedCert } from '../src/pki/types.js';
import { createSimulatedStation, initStationHome, type SimulatedStation } from '../src/simulator/index.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { operationContext, pollRound, until } from './support/rollout-fleet.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';

// Credential rotation rollouts over real mutual TLS: a server with the station CA
// of `bscups pki init`, whose engine runs every 100 ms; simulated stations hold
// certificates that CA issued and authenticate with them on every poll.
let work: string;
let pki: string;
let ca: IssuedCert;
let srv: TestServer;
let ctx: RolloutContext;

interface RotStation extends SimulatedStation {
  readonly home: string;
}

/** Registers stations with a certificate for each category and writes their files, then lets each authenticate once. */
async function stations(prefix: string, count: number, group: string, categories: readonly ('cups' | 'tc')[]): Promise<RotStation[]> {
  const out: RotStation[] = [];
  for (let i = 1; i <= count; i++) {
    const eui = `${prefix}${i.toString(16).toUpperCase().padStart(10, '0')}`;
    const home = join(work, eui);
    await registerStation(ctx, { eui, labels: { group } });
    const issued = await issueCredentials(
      { registry: srv.runtime.registry, blobs: srv.runtime.blobs, clock: () => new Date() },
      { eui, kind: 'certificate', ca, credentials: categories.map((category) => ({ category, trust: ca.certDer })) },
    );
    const files = (c: 'cups' | 'tc') => issued.credentials.find((x) => x.category === c)?.files;
    const cups = files('cups');
    const tc = files('tc');
    await initStationHome(home, {
      cupsUri: srv.url,
      ...(cups === undefined ? {} : { cupsTrust: cups.trust, cupsCrt: cups.crt, cupsKey: cups.key }),
      ...(tc === undefined ? {} : { tcTrust: tc.trust, tcCrt: tc.crt, tcKey: tc.key }),
    });
    out.push(Object.assign(createSimulatedStation({ home, eui, timeoutMs: 20_000 }), { home }));
  }
  // The first poll proves the issued credentials: mode mtls, nothing pending.
  for (const [eui, r] of await pollRound(out)) expect(r, eui).toMatchObject({ status: 200, ok: true });
  for (const st of out) expect(await srv.runtime.registry.getStationAuth(st.eui)).toMatchObject({ mode: 'mtls', rotations: [] });
  return out;
}

const fingerprintIn = async (home: string, category: 'cups' | 'tc') => certificateFingerprint(await readFile(join(home, `${category}.crt`)));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-rotation-rollout-'));
  pki = join(work, 'pki');
  await bscupsJson(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1']);
  ca = await loadCa(pki);
  srv = await startTestServer({
    allowUnauthenticated: false,
    tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
    config: { rolloutInterval: 0.1 },
    serve: { pkiDir: pki },
  });
  ctx = operationContext(srv.runtime);
}, 60_000);

afterAll(async () => {
  await srv.stop();
  await rm(work, { recursive: true, force: true });
});

describe('credential rotation rollouts', () => {
  it('rotates CUPS and TC credentials of six stations in waves; each authenticates with its new certificate and the old one is refused', async () => {
    const fleet = await stations('C10000', 6, 'rotate', ['cups', 'tc']);
    // A station with no credential of its own matches too: there is nothing to rotate, so it is skipped.
    await registerStation(ctx, { eui: 'C1FFFF0000000001', labels: { group: 'rotate' } });
    await srv.runtime.registry.touchStation('C1FFFF0000000001', { at: new Date(), remoteAddress: null });
    const before = new Map<string, { cups: string; tc: string }>();
    for (const st of fleet) before.set(st.eui, { cups: await fingerprintIn(st.home, 'cups'), tc: await fingerprintIn(st.home, 'tc') });
    const first = fleet[0]!;
    const [oldCrt, oldKey] = [await readFile(join(first.home, 'cups.crt')), await readFile(join(first.home, 'cups.key'))];

    const created = await bscupsJson<{ id: string; waves: { stations: number }[] }>(['rollout', 'create', '--rotate', 'both', '--label', 'group=rotate', '--waves', '1,50%,100%', '--deadline', '60s'], srv.env);
    expect(created.waves.map((w) => w.stations)).toEqual([1, 3, 3]);
    await until('rotation rollout completed', async () => (await showRollout(ctx, created.id)).rollout.state === 'completed', () => pollRound(fleet), 60_000);

    const done = await showRollout(ctx, created.id);
    expect(done.progress.totals).toMatchObject({ confirmed: 6, skipped: 1, failed: 0, pending: 0, offered: 0 });
    expect(done.events.filter((e) => e.type === 'wave_started').map((e) => e.wave)).toEqual([1, 2, 3]);
    expect(done.members.find((m) => m.eui === 'C1FFFF0000000001')).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/auth mode none, so there is nothing to rotate/) });

    for (const st of fleet) {
      const old = before.get(st.eui)!;
      const [cups, tc] = [await fingerprintIn(st.home, 'cups'), await fingerprintIn(st.home, 'tc')];
      expect(cups).not.toBe(old.cups);
      expect(tc).not.toBe(old.tc);
      // The server holds what the station holds: new certificates active, the old ones retired by the completed rotations.
      const auth = await srv.runtime.registry.getStationAuth(st.eui);
      expect(auth?.rotations).toEqual([]);
      expect(auth?.mode).toBe('mtls');
      expect(auth?.certificates.map((c) => [c.category, c.fingerprint, c.status]).sort()).toEqual(
        [['cups', old.cups, 'retired'], ['cups', cups, 'active'], ['tc', old.tc, 'retired'], ['tc', tc, 'active']].sort(),
      );
      const member = done.members.find((m) => m.eui === st.eui);
      const station = await srv.runtime.registry.getStation(st.eui);
      expect(member?.reason).toBe(`uses the new credential (cups crc ${station?.desired.cupsCred?.crc}, tc crc ${station?.desired.tcCred?.crc})`);
      expect(station?.reported).toMatchObject({ cupsCredCrc: station?.desired.cupsCred?.crc, tcCredCrc: station?.desired.tcCred?.crc });
      // The station's next poll is over mutual TLS with the new certificate, and nothing is left to send it.
      expect(await st.exchange()).toMatchObject({ status: 200, ok: true, nothingToChange: true });
    }

    // The replaced certificate no longer opens the server.
    const stale = await tlsExchange({
      port: srv.port,
      ca: ca.certPem,
      cert: new X509Certificate(oldCrt).toString(),
      key: createPrivateKey({ key: oldKey, format: 'der', type: 'sec1' }).export({ format: 'pem', type: 'sec1' }).toString(),
      request: stationRequest(first.eui),
    });
    expect(stale.status).toBe(401);
    expect(stale.body.toString()).toMatch(/^certificate_retired/);
    const events = await srv.runtime.registry.listEvents(first.eui);
    expect(events.filter((e) => e.type === 'rollout').map((e) => e.message)).toEqual([
      `rollout ${created.id}: cups and tc credential rotation: confirmed (${done.members.find((m) => m.eui === first.eui)?.reason})`,
      `rollout ${created.id}: cups and tc credential rotation: offered`,
    ]);

    // Rollback cannot give back a retired credential: refused, saying what to do instead.
    const rollback = await bscupsInProcess(['rollout', 'rollback', created.id], srv.env);
    expect(rollback.code).not.toBe(0);
    expect(rollback.stderr).toContain('rollback_not_possible');
    expect(rollback.stderr).toContain('--rotate both');
    expect((await showRollout(ctx, created.id)).rollout.state).toBe('completed');
  }, 120_000);

  it('a station that is stopped never applies its rotation: lost after its deadline, the budget halts the rollout, nobody else is offered', async () => {
    const fleet = await stations('C20000', 3, 'stopped', ['cups']);
    const [stopped, ...live] = fleet as [RotStation, ...RotStation[]];
    const oldCert = await fingerprintIn(stopped.home, 'cups');
    const { rollout } = await createRollout(ctx, { rotate: 'cups', label: ['group=stopped'], waves: '1,100%', failureBudget: '0', deadline: '2s' });
    await until('rollout halted', async () => (await showRollout(ctx, rollout.id)).rollout.state === 'halted', () => pollRound(live), 30_000);

    const halted = await showRollout(ctx, rollout.id);
    expect(halted.rollout.haltReason).toBe('failure budget exceeded: 1 failed, 0 allowed (0 of 3)');
    expect(halted.members.map((m) => [m.eui, m.state])).toEqual([[stopped.eui, 'failed'], ...live.map((s) => [s.eui, 'pending'])]);
    expect(halted.members[0]?.reason).toMatch(/^lost after offer: not seen since /);
    // The others were never offered: no rotation, the desired credential is the one they hold.
    for (const st of live) {
      expect((await srv.runtime.registry.getStationAuth(st.eui))?.rotations).toEqual([]);
      expect(await st.exchange()).toMatchObject({ status: 200, nothingToChange: true });
    }
    // The stopped station's old certificate stays valid beside the pending rotation, so when it
    // comes back it still gets in, fetches its new certificate and completes the rotation.
    const auth = await srv.runtime.registry.getStationAuth(stopped.eui);
    expect(auth?.certificates.find((c) => c.fingerprint === oldCert)?.status).toBe('active');
    expect(auth?.rotations.map((r) => r.category)).toEqual(['cups']);
    expect((await stopped.exchange()).applied).toEqual(['cupsCred']);
    expect(await stopped.exchange()).toMatchObject({ status: 200, nothingToChange: true });
    expect((await srv.runtime.registry.getStationAuth(stopped.eui))?.certificates.find((c) => c.fingerprint === oldCert)?.status).toBe('retired');
  }, 60_000);
});
