import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryMigrations } from '../src/registry/migrations.js';

// 0020_rollout_approval rebuilds the SQLite rollouts table (to drop the CHECK on its
// state): its children, which cascade on delete, must come through with every row,
// and still cascade after.
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

describe('migration 0020_rollout_approval on SQLite with rollouts in it', () => {
  let dir = '';
  let db: Kysely<unknown>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bscups-mig-0020-'));
    db = new Kysely<unknown>({
      dialect: new SqliteDialect({
        database: () => {
          const conn = new Database(join(dir, 'r.sqlite'));
          conn.pragma('foreign_keys = ON');
          return Promise.resolve(conn);
        },
      }),
    });
  });
  afterAll(async () => {
    await db?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every rollout, member, claim and event, and accepts the new state', async () => {
    const migrator = new Migrator({ db, provider: registryMigrations('sqlite') });
    expect((await migrator.migrateTo('0016_webhooks')).error).toBeUndefined();
    await sql`insert into rollouts (id, name, kind, change, selector, plan, wave_sizes, state, wave, created_by, created_at, updated_at, version)
      values ('r1', 'old', 'tcUri', '{}', '{}', '{}', '[2]', 'running', 1, 'local:ops', 1, 2, 3)`.execute(db);
    await sql`insert into rollout_members (rollout_id, eui, wave, state) values ('r1', '0000000000000001', 1, 'offered'), ('r1', '0000000000000002', 1, 'pending')`.execute(db);
    await sql`insert into rollout_claims (eui, rollout_id) values ('0000000000000001', 'r1'), ('0000000000000002', 'r1')`.execute(db);
    await sql`insert into rollout_events (rollout_id, at, type, message) values ('r1', 1, 'created', 'created'), ('r1', 2, 'wave_started', 'wave 1')`.execute(db);
    await expect(sql`update rollouts set state = 'waiting_for_approval' where id = 'r1'`.execute(db)).rejects.toThrow(/CHECK/);

    // As the registry migrates (sqlite-backend.ts): foreign keys off while a table is rebuilt, checked after.
    await sql`pragma foreign_keys = off`.execute(db);
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect((await sql`pragma foreign_key_check`.execute(db)).rows).toEqual([]);
    await sql`pragma foreign_keys = on`.execute(db);
    const count = async (table: string) => Number(((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0])?.n);
    expect([await count('rollouts'), await count('rollout_members'), await count('rollout_claims'), await count('rollout_events')]).toEqual([1, 2, 2, 2]);
    const row = (await sql<{ name: string; version: number; approval: string | null; created_by_identity: string | null }>`select * from rollouts`.execute(db)).rows[0];
    expect(row).toMatchObject({ name: 'old', version: 3, approval: null, created_by_identity: null });
    await sql`update rollouts set state = 'waiting_for_approval' where id = 'r1'`.execute(db);
    // The children still belong to it: deleting the rollout cascades as before.
    await sql`insert into rollout_events (rollout_id, at, type, message) values ('r1', 3, 'x', 'after')`.execute(db);
    expect(Number((await sql<{ id: number }>`select max(id) as id from rollout_events`.execute(db)).rows[0]?.id)).toBe(3);
    await sql`delete from rollouts where id = 'r1'`.execute(db);
    expect([await count('rollout_members'), await count('rollout_claims'), await count('rollout_events')]).toEqual([0, 0, 0]);
  });
});
