import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCredentials } from '../src/operations/credentials.js';
import { loadCa } from '../src/pki/pki-folder.js';
import type { IssuedCert } from '../src/pki/types.js';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { adminClient, type Json } from './support/admin-client.js';
import { bscupsJson } from './support/cli-in-process.js';
import { createTestSchema, shouldRunPostgresSuite } from './support/postgres.js';
import { startTestServer, type TestServer } from './support/server.js';
import { startTlsLns, type TlsLns } from './support/tls-lns.js';

// A health-gated TC credential rotation that breaks the LNS link of some
// stations, and its automatic revert, in seconds. Four stations authenticate to
// CUPS with certificates of the station CA, and to their LNS with a certificate
// (or, in the token run, a token). Two use an LNS that knows each gateway's
// credential (pinned, as an LNS with registered gateway certificates or API keys
// does): the credential the rotation issues is refused on the
// WebSocket upgrade, so these stations come back to CUPS on the 450 s beat right
// after the exchange that delivered it, fail their soak and are given their old
// TC credential back (the default of a TC credential rollout); the pinned LNS
// takes them again and they come back healthy. The two others use an LNS that
// trusts the station CA: quiet, confirmed when their soak ends. Station times and
// thresholds scaled by 1/10,000 (450 s → 45 ms, 24 h → 8.64 s); soak 3 s; two
// replicas on one registry and one blob store run the engine every 50 ms.

const SCALE = 0.0001;
const HEALTH = { healthEarly: 3600 * SCALE, healthEarlyCount: 2, healthInterval: 86_400 * SCALE, healthGrace: 7200 * SCALE, lastSeenInterval: 0.05, rolloutInterval: 0.05 };
const PINNED = ['0016C001FF10C001', '0016C001FF10C002'];
const TRUSTING = ['0016C001FF10C003', '0016C001FF10C004'];

const pgRuns = await shouldRunPostgresSuite('TC credential revert');
const sqlite = (dir: string) => Promise.resolve({ url: join(dir, 'registry.sqlite'), drop: () => Promise.resolve() });
const setups = [
  { name: 'SQLite file', kind: 'certificate' as const, skip: false, database: sqlite },
  { name: 'SQLite file', kind: 'token' as const, skip: false, database: sqlite },
  { name: 'PostgreSQL', kind: 'certificate' as const, skip: !pgRuns, database: () => createTestSchema() },
];

const sha256 = (der: Buffer) => createHash('sha256').update(der).digest('hex');

interface Member { eui: string; state: string; reason: string | null; revert: { state: string; reason: string } | null }

for (const setup of setups) {
  describe.skipIf(setup.skip)(`health-gated TC ${setup.kind} rotation on ${setup.name}, two replicas`, () => {
    let work: string;
    let pki: string;
    let ca: IssuedCert;
    let drop: () => Promise<void> = () => Promise.resolve();
    const replicas: TestServer[] = [];
    const lns: TlsLns[] = [];
    const stop = new AbortController();
    let running: Promise<unknown>[] = [];
    /** The TC credentials the pinned LNS knows (certificate fingerprints, or token header values): the ones the stations were provisioned with. */
    const known = new Set<string>();

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'bscups-tc-cred-revert-'));
      pki = join(work, 'pki');
      await bscupsJson(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1']);
      ca = await loadCa(pki);
      const db = await setup.database(work);
      drop = db.drop;
      for (let i = 0; i < 2; i++) {
        replicas.push(await startTestServer({
          database: db.url,
          blobs: join(work, 'blobs'),
          allowUnauthenticated: false,
          tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
          config: HEALTH,
          serve: { pkiDir: pki },
        }));
      }
      const files = { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), ca: join(pki, 'ca.pem') };
      const presented = (fp: string, headers: { authorization?: string }) => (setup.kind === 'certificate' ? fp : (headers.authorization ?? ''));
      lns.push(await startTlsLns(files, (fp, _ok, headers) => known.has(presented(fp, headers))));
      lns.push(await startTlsLns(files, (fp, authorized, headers) => (setup.kind === 'certificate' ? authorized : /^Bearer \S+$/.test(presented(fp, headers)))));
    }, 60_000);

    afterAll(async () => {
      stop.abort();
      await Promise.allSettled(running);
      for (const r of replicas) await r.stop();
      for (const l of lns) await l.close();
      await drop();
      await rm(work, { recursive: true, force: true });
    });

    it('the stations whose LNS refuses the new credential fail their soak, get their old TC credential back and are healthy again; the others are confirmed', async () => {
      const [pinned, trusting] = lns as [TlsLns, TlsLns];
      const runtime = replicas[0]!.runtime;
      const key = replicas[0]!.server.admin.firstAdminKey as string;
      const api = adminClient(replicas[0]!.server.admin.url.replace(/\/api\/v1$/, ''));
      const homes = new Map<string, string>();
      const before = new Map<string, { crc: number; blob: string; presented: string; file: Buffer }>();
      const tcFile = setup.kind === 'certificate' ? 'tc.crt' : 'tc.key';
      for (const [i, eui] of [...PINNED, ...TRUSTING].entries()) {
        const tcUri = PINNED.includes(eui) ? pinned.uri : trusting.uri;
        expect((await api('POST', '/api/v1/stations', key, { eui, tcUri, labels: { fleet: 'tccred', lns: PINNED.includes(eui) ? 'pinned' : 'trusting' } })).status).toBe(201);
        const deps = { registry: runtime.registry, blobs: runtime.blobs, clock: () => new Date() };
        const cups = (await issueCredentials(deps, { eui, kind: 'certificate', ca, credentials: [{ category: 'cups', trust: ca.certDer }] })).credentials[0]!;
        const tc = (await issueCredentials(deps, { eui, kind: setup.kind, ca, credentials: [{ category: 'tc', trust: ca.certDer }] })).credentials[0]!;
        const presented = setup.kind === 'certificate' ? sha256(tc.files.crt) : tc.files.key.toString('latin1').replace(/^Authorization: /, '').trim();
        known.add(presented);
        before.set(eui, { crc: tc.crc, blob: tc.blob, presented, file: tc.files[setup.kind === 'certificate' ? 'crt' : 'key'] });
        const home = join(work, eui);
        homes.set(eui, home);
        await initStationHome(home, { cupsUri: replicas[i % 2]!.url, tcUri, cupsTrust: cups.files.trust, cupsCrt: cups.files.crt, cupsKey: cups.files.key, tcTrust: tc.files.trust, ...(setup.kind === 'certificate' ? { tcCrt: tc.files.crt } : {}), tcKey: tc.files.key });
        // First contact over mutual TLS: seen, reporting the credentials it holds.
        const [first] = await createSimulatedStation({ home, eui }).run({ maxExchanges: 1, timeScale: SCALE });
        expect(first).toMatchObject({ status: 200, ok: true });
      }

      // One rollout per LNS, so the pinned stations' failures do not halt the others'. Reverting is the default.
      const create = (lnsLabel: string) => api<Json>('POST', '/api/v1/rollouts', key, { rotate: 'tc', label: ['fleet=tccred', `lns=${lnsLabel}`], waves: '100%', failureBudget: '1', healthSoak: '3s' });
      const broken = await create('pinned');
      const fine = await create('trusting');
      expect([broken.status, fine.status]).toEqual([201, 201]);
      expect(broken.body.plan).toMatchObject({ revertUnhealthy: true, healthSoakMs: 3000 });

      const members = async (id: string) => (await api<{ items: Member[] }>('GET', `/api/v1/rollouts/${id}/members`, key)).body.items;
      const rollout = async (id: string) => (await api<Json>('GET', `/api/v1/rollouts/${id}`, key)).body;
      for (const id of [broken.body.id, fine.body.id]) await expect.poll(async () => (await members(id)).map((m) => m.state), { timeout: 10_000, interval: 50 }).toEqual(['offered', 'offered']);
      // The stations restart (a call at start each), which delivers the new credential; then they keep their own rhythm.
      running = [...PINNED, ...TRUSTING].map((eui) => createSimulatedStation({ home: homes.get(eui) as string, eui }).run({ signal: stop.signal, timeScale: SCALE }));

      // The pinned LNS refuses the new certificates: back at CUPS on the 450 s beat, failed, the budget of 1 spent.
      await expect.poll(async () => (await rollout(broken.body.id)).state, { timeout: 15_000, interval: 50 }).toBe('halted');
      for (const m of await members(broken.body.id)) expect(m).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^back at CUPS [\d.]+ s after the change: its LNS connection is failing/) });
      // The others: confirmed once their 3 s soak passed.
      await expect.poll(async () => (await members(fine.body.id)).map((m) => m.state), { timeout: 10_000, interval: 50 }).toEqual(['confirmed', 'confirmed']);
      expect(trusting.refused).toEqual([]);

      // Reverted: the old TC credential is desired again, the station holds its old certificate (or token) and reports its CRC.
      await expect.poll(async () => (await members(broken.body.id)).map((m) => (m.revert?.state === 'refused' ? `refused: ${m.revert.reason}` : m.revert?.state)), { timeout: 20_000, interval: 50 }).toEqual(['reverted', 'reverted']);
      for (const m of await members(broken.body.id)) expect(m.revert?.reason).toBe(`reports TC credential crc ${before.get(m.eui)!.crc} again`);
      for (const eui of PINNED) {
        const old = before.get(eui)!;
        const station = await runtime.registry.getStation(eui);
        expect(station?.desired.tcCred).toMatchObject({ crc: old.crc, blob: old.blob });
        expect(station?.reported?.tcCredCrc).toBe(old.crc);
        expect(await readFile(join(homes.get(eui)!, tcFile))).toEqual(old.file);
        // The server's record follows: what the rollout issued is retired, the old one active again, and the
        // rotation back to it completes once the station reports it.
        await expect.poll(async () => (await runtime.registry.getStationAuth(eui))?.rotations, { timeout: 5_000, interval: 50 }).toEqual([]);
        const auth = (await runtime.registry.getStationAuth(eui))!;
        const tcCreds = [...auth.certificates, ...auth.tokens].filter((c) => c.category === 'tc');
        expect(tcCreds).toHaveLength(2);
        expect(tcCreds.filter((c) => c.status === 'active').map((c) => c.credCrc)).toEqual([old.crc]);
        expect(tcCreds.find((c) => c.credCrc !== old.crc)).toMatchObject({ status: 'retired', retiredReason: `reverted by rollout ${broken.body.id}` });
      }
      // What the pinned LNS refused is what the rollout issued, never what it knows.
      expect(pinned.refused.length).toBeGreaterThan(0);
      expect(pinned.refused.every((p) => p !== '' && !known.has(p))).toBe(true);
      // The pinned LNS takes them again: healthy at their regular check.
      await expect.poll(async () => Promise.all(PINNED.map(async (eui) => (await api<Json>('GET', `/api/v1/stations/${eui}`, key)).body.health.state)), { timeout: 20_000, interval: 100 }).toEqual(['healthy', 'healthy']);

      // The trusting stations keep the new credential; once the engine saw them report it, the blob it replaced
      // is garbage, and what the pinned stations were given back is not.
      const unused = async () => {
        const gc = await bscupsJson<{ blobs: { container: string; name: string }[] }>(['blobs', 'gc', '--min-age', '0s'], replicas[0]!.env);
        const names = new Set(gc.blobs.filter((b) => b.container === 'stationcredentials').map((b) => b.name));
        return [...PINNED, ...TRUSTING].map((eui) => names.has(before.get(eui)!.blob));
      };
      await expect.poll(unused, { timeout: 20_000, interval: 200 }).toEqual([false, false, true, true]);
      for (const eui of TRUSTING) expect((await runtime.registry.getStation(eui))?.reported?.tcCredCrc).toBe((await runtime.registry.getStation(eui))?.desired.tcCred?.crc);
    });
  });
}
