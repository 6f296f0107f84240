import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliJson } from './support/cli.js';
import { createTestSchema, shouldRunPostgresSuite, TEST_POSTGRES_URL, type TestSchema } from './support/postgres.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';
import { stationRequest, tlsExchange, type TlsExchange } from './support/tls-client.js';

// Two `bscups serve` processes on one registry, each serving stations from its
// in-memory cache: what an operator changes through a third process (the CLI)
// is served by both at the next poll, and a revoked token is refused by both
// within one second. SQLite (the change log under PRAGMA data_version) and
// PostgreSQL (LISTEN/NOTIFY).

const EUI = '0016C001FF10C0DE';
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

    const poll = (replica: ServeProcess): Promise<TlsExchange> =>
      tlsExchange({ port: Number(new URL(replica.url).port), ca, headerLines: `${token}\r\n`, request: stationRequest(EUI) });

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'bscups-cache-replicas-'));
      db = await setup.database(work);
      env = { BSCUPS_DATABASE: db.url, BSCUPS_BLOBS: join(work, 'blobs') };
      const pki = join(work, 'pki');
      await cliJson(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1'], env);
      ca = await readFile(join(pki, 'ca.pem'), 'utf8');
      await cliJson(['station', 'add', EUI, '--tc-uri', 'ws://lns.example:1000'], env);
      const issued = await cliJson<Issued>(['station', 'issue-token', EUI, '--pki-dir', pki], env);
      token = issued.credentials[0]!.token;
      tokenId = issued.credentials[0]!.tokenId;
      const tls = ['--tls-cert', join(pki, 'server.pem'), '--tls-key', join(pki, 'server.key')];
      replicas.push(...(await Promise.all([startServeProcess(env, tls), startServeProcess(env, tls)])));
    }, 120_000);

    afterAll(async () => {
      await Promise.allSettled(replicas.map((r) => r.stop()));
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
      await cliJson(['station', 'set', EUI, '--tc-uri', 'ws://moved.example:2000'], env);
      for (const r of replicas) {
        const answer = await poll(r);
        expect(answer.status).toBe(200);
        expect(answer.body.includes(Buffer.from('ws://moved.example:2000'))).toBe(true);
      }
    });

    it('a revoked token is refused by both within one second', async () => {
      for (const r of replicas) expect((await poll(r)).status).toBe(200);
      await cliJson(['station', 'revoke', EUI, '--token-id', tokenId, '--force'], env);
      const revokedAt = performance.now();
      for (const r of replicas) {
        let answer = await poll(r);
        while (answer.status === 200 && performance.now() - revokedAt < 1_000) answer = await poll(r);
        expect(answer.status, `refused by ${r.url} within one second of the revoke`).toBe(401);
        expect(answer.body.toString()).toMatch(/^token_retired/);
      }
      expect(performance.now() - revokedAt).toBeLessThan(1_000);
    });
  });
}
