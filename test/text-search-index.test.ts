import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryDatabase } from '../src/registry/db-schema.js';
import { createRegistryStores } from '../src/registry/index.js';
import { selectStationPage } from '../src/registry/station-query.js';
import { createTestSchema, shouldRunPostgresSuite, TEST_POSTGRES_URL, type TestSchema } from './support/postgres.js';

// 0007_text_search: the listing's text match is served by pg_trgm indexes on
// PostgreSQL, and a database where the extension cannot be created still
// migrates (warning, no index) and still matches.

const runPg = await shouldRunPostgresSuite('text search index');

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe.runIf(runPg)('station text search on PostgreSQL', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await createTestSchema();
  });
  afterAll(() => schema.drop());

  it('the text match of a station listing is planned through both trigram indexes', async () => {
    const { registry, fleet } = await createRegistryStores(schema.url);
    try {
      await registry.migrate();
      for (let i = 0; i < 30; i++) {
        await registry.createStation({ eui: (0x0016c001ff100000 + i).toString(16).toUpperCase().padStart(16, '0'), name: `Roof ${4240 + i}` });
      }
      expect((await fleet.queryStations({ text: 'roof 4242', limit: 50 })).items.map((s) => s.name)).toEqual(['Roof 4242']);
    } finally {
      await registry.close();
    }
    // The very statement the listing sends, compiled by its own builder, explained with full and ordered scans
    // priced out so the plan shows whether the indexes can serve it at all (a 30-row table never needs them;
    // whether the planner picks them at 100,000 stations is what bench fleet-listing shows).
    const compiled: CompiledQuery[] = [];
    const pool = new pg.Pool({ connectionString: TEST_POSTGRES_URL, options: `-c search_path=${schema.schema} -c enable_seqscan=off -c enable_indexscan=off` });
    const db = new Kysely<RegistryDatabase>({ dialect: new PostgresDialect({ pool }), log: (e) => void compiled.push(e.query) });
    try {
      await selectStationPage(db, { text: 'roof 4242', limit: 50 });
      const listing = compiled[0]!;
      const { rows } = await pool.query<{ 'QUERY PLAN': unknown }>(`explain (format json) ${listing.sql}`, [...listing.parameters]);
      const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
      expect(plan).toContain('"Index Name":"stations_text_name"');
      expect(plan).toContain('"Index Name":"stations_text_eui"');
    } finally {
      await db.destroy();
    }
  });

  it('without the right to create pg_trgm, migration warns, builds no trigram index, and the text match still works', async () => {
    // A database of its own where pg_trgm is not installed, and a role that may not create extensions there.
    const suffix = randomBytes(4).toString('hex');
    const database = `bscups_trgm_${suffix}`;
    const role = `bscups_trgm_${suffix}`;
    await withClient(TEST_POSTGRES_URL, async (c) => {
      await c.query(`create database ${database}`);
      await c.query(`create role ${role} login`);
    });
    try {
      const adminUrl = new URL(TEST_POSTGRES_URL);
      adminUrl.pathname = `/${database}`;
      await withClient(adminUrl.toString(), (c) => c.query(`create schema reg authorization ${role}`));
      // Its search path rather than ?schema=, which would ask to create the schema (a right it lacks).
      await withClient(TEST_POSTGRES_URL, (c) => c.query(`alter role ${role} set search_path = reg`));
      const url = new URL(adminUrl);
      url.username = role;
      const warnings: { obj: object; msg?: string }[] = [];
      const logger = { warn: (obj: object, msg?: string) => void warnings.push({ obj, ...(msg === undefined ? {} : { msg }) }) };
      const { registry, fleet } = await createRegistryStores(url.toString(), { logger });
      try {
        await registry.migrate();
        await registry.createStation({ eui: '0016C001FF104242', name: 'Roof 4242' });
        await registry.createStation({ eui: '0016C001FF100001', name: 'Barn 1' });
        expect((await fleet.queryStations({ text: 'roof 4242', limit: 50 })).items.map((s) => s.eui)).toEqual(['0016C001FF104242']);
        expect((await fleet.queryStations({ text: 'ff10000', limit: 50 })).items.map((s) => s.eui)).toEqual(['0016C001FF100001']);
      } finally {
        await registry.close();
      }
      expect(warnings.map((w) => w.msg)).toEqual([expect.stringContaining('pg_trgm could not be created')]);
      const indexes = await withClient(adminUrl.toString(), async (c) => {
        const { rows } = await c.query<{ indexname: string }>(`select indexname from pg_indexes where schemaname = 'reg' and indexname like 'stations_text%'`);
        const ext = await c.query(`select 1 from pg_extension where extname = 'pg_trgm'`);
        return { names: rows.map((r) => r.indexname), extension: ext.rowCount };
      });
      expect(indexes).toEqual({ names: [], extension: 0 });
    } finally {
      await withClient(TEST_POSTGRES_URL, async (c) => {
        await c.query(`drop database if exists ${database} with (force)`);
        await c.query(`drop role if exists ${role}`);
      });
    }
  });
});
