import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { localActor, type OperationContext } from '../src/operations/context.js';
import { issueStationCredentials, revokeStationCredential } from '../src/operations/station-credentials.js';
import { registerStation, removeStation } from '../src/operations/stations.js';
import { NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { bscupsJson } from './support/cli-in-process.js';
import { createTestSchema, shouldRunPostgresSuite, TEST_POSTGRES_URL, type TestSchema } from './support/postgres.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';
import { stationRequest, tlsExchange, type TlsExchange } from './support/tls-client.js';

// Two `bscups serve` processes on one registry, each serving stations from its
// in-memory cache: what an operator changes through a third process (the CLI,
// or the operations layer in this test process) is served by both at the next
// poll, and a revoked token or client certificate, or a removed station, is
// refused by both within one second of the change's commit. SQLite (the change
// log under PRAGMA data_version) and PostgreSQL (LISTEN/NOTIFY).

const EUI = '0016C001FF10C0DE';
/** Stations that poll up to date (answered from memory) with a client certificate or a token. */
const CERT_EUI = '0016C001FF10C0E1';
const GONE_CERT_EUI = '0016C001FF10C0E2';
const GONE_TOKEN_EUI = '0016C001FF10C0E3';
const TC_URI = 'ws://lns.example:1000';
const ONE_SECOND = 1_000;
const pgRuns = await shouldRunPostgresSuite('registry cache across serve processes');

interface Issued {
  credentials: Array<{ tokenId: string; token: string }>;
}

interface Database {
  readonly url: string;
  /** PostgreSQL: the schema, for a change made behind the triggers' back. */
  readonly schema?: string;
  drop(): Promise<void>;
}

const setups: { name: string; skip: boolean; database: (work: string) => Promise<Database> }[] = [
  { name: 'SQLite file', skip: false, database: (work) => Promise.resolve({ url: join(work, 'registry.sqlite'), drop: () => Promise.resolve() }) },
  {
    name: 'PostgreSQL',
    skip: !pgRuns,
    database: async () => {
      const s: TestSchema = await createTestSchema();
      return { url: s.url, schema: s.schema, drop: s.drop };
    },
  },
];

/** How a station polls: its client certificate (PEM) or token header, and the CUPS credential CRC it reports. */
interface StationCredential {
  readonly cert?: string;
  readonly key?: string;
  readonly headerLines?: string;
  readonly crc: number;
}

/** Issues a CUPS certificate or token through the operations layer; the station's files as a TLS client uses them. */
async function issue(ctx: OperationContext, pkiDir: string, eui: string, kind: 'certificate' | 'token'): Promise<StationCredential & { fingerprint?: string }> {
  await registerStation(ctx, { eui, tcUri: TC_URI });
  const [issued] = (await issueStationCredentials(ctx, { eui, kind, categories: ['cups'], pkiDir })).credentials;
  if (issued === undefined) throw new Error(`no credential issued for ${eui}`);
  if (kind === 'token') return { headerLines: `${issued.token ?? ''}\r\n`, crc: issued.crc };
  return {
    cert: new X509Certificate(issued.files.crt).toString(),
    key: createPrivateKey({ key: issued.files.key, format: 'der', type: 'sec1' }).export({ format: 'pem', type: 'sec1' }).toString(),
    crc: issued.crc,
    ...(issued.fingerprint === undefined ? {} : { fingerprint: issued.fingerprint }),
  };
}

/** Changes the station's TC URI with triggers off (replica role), so no replica hears of it. */
async function silentUpdate(schema: string, tcUri: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await client.query(`update ${schema}.stations set tc_uri = $1 where eui = $2`, [tcUri, EUI]);
    await client.query('commit');
  } finally {
    await client.end();
  }
}

for (const setup of setups) {
  describe.skipIf(setup.skip)(`registry cache across two serve processes on ${setup.name}`, () => {
    let work = '';
    let db: Database | undefined;
    let env: Record<string, string> = {};
    let ca = '';
    let token = '';
    let tokenId = '';
    const replicas: ServeProcess[] = [];
    /** This process's own registry, not cached: the operator acting through the operations layer. */
    let operator: Runtime | undefined;
    let ctx: OperationContext;
    const stations: Record<string, StationCredential & { fingerprint?: string }> = {};

    const poll = (replica: ServeProcess): Promise<TlsExchange> =>
      tlsExchange({ port: Number(new URL(replica.url).port), ca, headerLines: `${token}\r\n`, request: stationRequest(EUI) });

    /** A poll of `eui` with its own credential, reporting what it was given: up to date, so answered from memory once held. */
    const pollAs = (replica: ServeProcess, eui: string): Promise<TlsExchange> => {
      const { crc, cert, key, headerLines } = stations[eui]!;
      const credential = { ...(cert === undefined ? {} : { cert, key }), ...(headerLines === undefined ? {} : { headerLines }) };
      return tlsExchange({ port: Number(new URL(replica.url).port), ca, ...credential, request: stationRequest(eui, { tcUri: TC_URI, cupsCredCrc: crc }) });
    };

    /** Polls until both replicas answer `eui` up to date twice in a row (the first poll may complete its credential's rotation). */
    const settle = async (eui: string): Promise<void> => {
      for (const r of replicas) {
        await expect.poll(async () => (await pollAs(r, eui)).body.equals(NOTHING_TO_CHANGE), { timeout: 5_000, interval: 0 }).toBe(true);
        const again = await pollAs(r, eui);
        expect(again.status).toBe(200);
        expect(again.body).toEqual(NOTHING_TO_CHANGE);
      }
    };

    /**
     * Polls `eui` on both replicas at once, from `since` (when the change's call
     * returned, so after its commit), until each stops answering 200; each must
     * refuse within one second of `since`. Answers the refusals.
     */
    const refusedByBoth = (eui: string, since: number): Promise<TlsExchange[]> =>
      Promise.all(
        replicas.map(async (r) => {
          let answer = await pollAs(r, eui);
          while (answer.status === 200 && performance.now() - since < ONE_SECOND) answer = await pollAs(r, eui);
          const after = performance.now() - since;
          expect(answer.status, `${r.url} still answers ${eui} ${Math.round(after)} ms after the change`).not.toBe(200);
          expect(after, `${r.url} refused ${eui} within one second`).toBeLessThan(ONE_SECOND);
          return answer;
        }),
      );

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'bscups-cache-replicas-'));
      db = await setup.database(work);
      env = { BSCUPS_DATABASE: db.url, BSCUPS_BLOBS: join(work, 'blobs') };
      const pki = join(work, 'pki');
      await bscupsJson(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1'], env);
      ca = await readFile(join(pki, 'ca.pem'), 'utf8');
      await bscupsJson(['station', 'add', EUI, '--tc-uri', 'ws://lns.example:1000'], env);
      const issued = await bscupsJson<Issued>(['station', 'issue-token', EUI, '--pki-dir', pki], env);
      token = issued.credentials[0]!.token;
      tokenId = issued.credentials[0]!.tokenId;
      operator = await openRuntime(loadConfig({ database: db.url, blobs: env.BSCUPS_BLOBS }, {}));
      const rt = operator;
      ctx = { registry: rt.registry, fleet: rt.fleet, access: rt.access, blobs: rt.blobs, clock: () => new Date(), actor: localActor() };
      stations[CERT_EUI] = await issue(ctx, pki, CERT_EUI, 'certificate');
      stations[GONE_CERT_EUI] = await issue(ctx, pki, GONE_CERT_EUI, 'certificate');
      stations[GONE_TOKEN_EUI] = await issue(ctx, pki, GONE_TOKEN_EUI, 'token');
      const tls = ['--tls-cert', join(pki, 'server.pem'), '--tls-key', join(pki, 'server.key'), '--client-ca', join(pki, 'ca.pem')];
      replicas.push(...(await Promise.all([startServeProcess(env, tls), startServeProcess(env, tls)])));
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled(replicas.map((r) => r.stop()));
      await operator?.close();
      await db?.drop();
      await rm(work, { recursive: true, force: true });
    });

    it('both replicas answer the station from its token', async () => {
      for (const r of replicas) {
        const answer = await poll(r);
        expect(answer.status).toBe(200);
        expect(answer.body.includes(Buffer.from('ws://lns.example:1000'))).toBe(true);
      }
    });

    it.runIf(setup.name === 'PostgreSQL')('serves the station from memory: a change no trigger announces is not seen', async () => {
      // An exchange that changed the report forgets the station; this one reads it back into memory.
      for (const r of replicas) expect((await poll(r)).status).toBe(200);
      await silentUpdate(db!.schema!, 'ws://unannounced.example:3000');
      for (const r of replicas) {
        const answer = await poll(r);
        expect(answer.status).toBe(200);
        expect(answer.body.includes(Buffer.from('ws://lns.example:1000'))).toBe(true);
      }
    });

    it.runIf(setup.name === 'PostgreSQL')('a killed LISTEN connection: both fall back to the database at once, then cache again', async () => {
      const listeners = `bscups-listener ${db!.schema!}`;
      const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      try {
        const serves = async (uri: string) => {
          for (const r of replicas) {
            const answer = await poll(r);
            expect(answer.status).toBe(200);
            expect(answer.body.includes(Buffer.from(uri)), `${r.url} answers ${uri}`).toBe(true);
          }
        };
        await silentUpdate(db!.schema!, 'ws://behind.example:4000');
        await serves('ws://lns.example:1000');

        const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [listeners]);
        expect(killed.rowCount).toBe(2);
        const killedAt = performance.now();
        await expect.poll(async () => (await poll(replicas[0]!)).body.includes(Buffer.from('ws://behind.example:4000')), { timeout: 1_000, interval: 0 }).toBe(true);
        await expect.poll(async () => (await poll(replicas[1]!)).body.includes(Buffer.from('ws://behind.example:4000')), { timeout: 1_000, interval: 0 }).toBe(true);
        expect(performance.now() - killedAt).toBeLessThan(2_000);

        await expect.poll(async () => (await admin.query('select 1 from pg_stat_activity where application_name = $1', [listeners])).rowCount, { timeout: 10_000 }).toBe(2);
        await serves('ws://behind.example:4000');
        // Served from memory again: another silent change goes unseen.
        await silentUpdate(db!.schema!, 'ws://unseen.example:4001');
        await serves('ws://behind.example:4000');
      } finally {
        await admin.end();
      }
    });

    it('a change made through another process is served by both at the next poll', async () => {
      await bscupsJson(['station', 'set', EUI, '--tc-uri', 'ws://moved.example:2000'], env);
      for (const r of replicas) {
        const answer = await poll(r);
        expect(answer.status).toBe(200);
        expect(answer.body.includes(Buffer.from('ws://moved.example:2000'))).toBe(true);
      }
    });

    it('a revoked token is refused by both within one second', async () => {
      for (const r of replicas) expect((await poll(r)).status).toBe(200);
      // Timed from when the revoke returned (its commit), not from a CLI process's exit.
      await revokeStationCredential(ctx, { eui: EUI, tokenId, force: true });
      const revokedAt = performance.now();
      for (const r of replicas) {
        let answer = await poll(r);
        while (answer.status === 200 && performance.now() - revokedAt < 1_000) answer = await poll(r);
        expect(answer.status, `refused by ${r.url} within one second of the revoke`).toBe(401);
        expect(answer.body.toString()).toMatch(/^token_retired/);
      }
      expect(performance.now() - revokedAt).toBeLessThan(1_000);
    });

    it('a revoked client certificate is refused by both within one second of the revoke', async () => {
      await settle(CERT_EUI);
      const revoked = await revokeStationCredential(ctx, { eui: CERT_EUI, fingerprint: stations[CERT_EUI]!.fingerprint!, force: true });
      const since = performance.now();
      expect(revoked).toMatchObject({ retired: true, wasInUse: true });
      for (const answer of await refusedByBoth(CERT_EUI, since)) {
        expect(answer.status).toBe(401);
        expect(answer.body.toString()).toMatch(/^certificate_retired/);
      }
    });

    it('a removed station is refused by both within one second of the removal, whether it presents a certificate or a token', async () => {
      await settle(GONE_CERT_EUI);
      await settle(GONE_TOKEN_EUI);

      await removeStation(ctx, GONE_CERT_EUI);
      const certSince = performance.now();
      for (const answer of await refusedByBoth(GONE_CERT_EUI, certSince)) {
        // A valid certificate for an EUI nobody registered opens no station.
        expect(answer.status).toBe(404);
        expect(answer.body.toString()).toMatch(/not registered/);
      }

      await removeStation(ctx, GONE_TOKEN_EUI);
      const tokenSince = performance.now();
      for (const answer of await refusedByBoth(GONE_TOKEN_EUI, tokenSince)) {
        expect(answer.status).toBe(401);
        expect(answer.body.toString()).toMatch(/^token_invalid/);
      }
    });
  });
}
