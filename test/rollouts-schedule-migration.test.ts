import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryStores } from '../src/registry/index.js';
import { registryMigrations } from '../src/registry/migrations.js';
import { createRegistryBackend } from '../src/registry/open-backend.js';
import { registryDrivers, type Driver } from './support/registry-drivers.js';

// 0019_rollout_schedule on a registry that already holds rollouts: SQLite cannot
// alter a check, so the rollouts table is rebuilt; the members, claims and events
// that refer to it (on delete cascade) must all still be there, and the new state
// must be accepted (0020 then drops the check: the states are the code's).
const drivers = (await registryDrivers('rollout schedule migration')).filter((d) => d.shared && d.options === undefined);

function suite(driver: Driver): void {
  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());

  it('0019 keeps every rollout, member, claim and event, and allows scheduled', async () => {
    const store = await driver.fresh();
    try {
      const backend = await createRegistryBackend(store.url, {});
      const schema = backend.flavour === 'postgres' ? (new URL(store.url).searchParams.get('schema') ?? undefined) : undefined;
      if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(backend.db);
      const migrator = new Migrator({ db: backend.db, provider: registryMigrations(backend.flavour), ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
      expect((await migrator.migrateTo('0016_webhooks')).error).toBeUndefined();
      const db = backend.db;
      await sql`insert into stations (eui, labels, created_at, updated_at) values ('00000000000019A1', '{}', 1, 1)`.execute(db);
      await sql`insert into rollouts (id, name, kind, change, selector, plan, wave_sizes, state, wave, created_by, created_at, updated_at, version)
        values ('r-old', 'before', 'tcUri', '{"kind":"tcUri","uri":"ws://127.0.0.1:7000"}', '{"labels":[]}', '{"waves":[{"percent":100}],"successThreshold":1,"failureBudget":{"count":0},"deadlineMs":1000,"soakMs":0,"includeNew":false}', '[1]', 'running', 1, 'ops', 1, 1, 3)`.execute(db);
      await sql`insert into rollout_members (rollout_id, eui, wave, state) values ('r-old', '00000000000019A1', 1, 'offered')`.execute(db);
      await sql`insert into rollout_claims (eui, rollout_id) values ('00000000000019A1', 'r-old')`.execute(db);
      await sql`insert into rollout_events (rollout_id, at, type, message) values ('r-old', 1, 'created', 'created by ops')`.execute(db);
      await db.destroy();

      const stores = await createRegistryStores(store.url);
      try {
        await stores.registry.migrate();
        const r = await stores.rollouts.getRollout('r-old');
        expect(r).toMatchObject({ id: 'r-old', name: 'before', state: 'running', version: 3 });
        expect((await stores.rollouts.listMembers('r-old')).map((m) => [m.eui, m.state])).toEqual([['00000000000019A1', 'offered']]);
        expect([...(await stores.rollouts.claims(['00000000000019A1']))]).toEqual([['00000000000019A1', 'r-old']]);
        expect((await stores.rollouts.listRolloutEvents('r-old')).map((e) => e.message)).toEqual(['created by ops']);
        const after = await createRegistryBackend(store.url, {});
        try {
          await sql`update rollouts set state = 'scheduled' where id = 'r-old'`.execute(after.db);
          expect((await stores.rollouts.getRollout('r-old'))?.state).toBe('scheduled');
          // Since 0020 the states are the code's (core/rollout.ts ROLLOUT_STATES): no CHECK is left to refuse one.
          await sql`update rollouts set state = 'waiting_for_approval' where id = 'r-old'`.execute(after.db);
          expect((await stores.rollouts.getRollout('r-old'))?.state).toBe('waiting_for_approval');
          // The table keeps its index and still cascades: removing the rollout removes what refers to it.
          if (after.flavour === 'sqlite') {
            const indexes = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = 'rollouts' and sql is not null`.execute(after.db);
            expect(indexes.rows.map((i) => i.name)).toEqual(['rollouts_state']);
            await sql`pragma foreign_keys = on`.execute(after.db);
          }
          await sql`delete from rollouts where id = 'r-old'`.execute(after.db);
          expect(await stores.rollouts.listMembers('r-old')).toEqual([]);
          expect((await stores.rollouts.claims(['00000000000019A1'])).size).toBe(0);
        } finally {
          await after.db.destroy();
        }
      } finally {
        await stores.registry.close();
      }
    } finally {
      await store.dispose();
    }
  });
}

for (const driver of drivers) describe.skipIf(driver.skip)(`rollout schedule migration on ${driver.name}`, () => suite(driver));
