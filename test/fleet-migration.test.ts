import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncState } from '../src/core/sync-status.js';
import { createRegistryStores } from '../src/registry/index.js';
import { registryMigrations } from '../src/registry/migrations.js';
import { createRegistryBackend } from '../src/registry/open-backend.js';
import { registryDrivers, type Driver } from './support/registry-drivers.js';

const drivers = (await registryDrivers('fleet migration')).filter((d) => d.shared);

function suite(driver: Driver): void {
  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());

  it('0005 backfills label rows and computes the config state of stations registered before it', async () => {
    const store = await driver.fresh();
    try {
      const backend = await createRegistryBackend(store.url, {});
      const schema = backend.flavour === 'postgres' ? (new URL(store.url).searchParams.get('schema') ?? undefined) : undefined;
      if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(backend.db);
      const migrator = new Migrator({ db: backend.db, provider: registryMigrations(backend.flavour), ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
      const before = await migrator.migrateTo('0004_change_notify');
      expect(before.error).toBeUndefined();
      const row = (eui: string, labels: Record<string, string>, reported: boolean) => ({
        eui, name: null, labels: JSON.stringify(labels), cups_uri: null, tc_uri: 'wss://lns.example:8887',
        created_at: 1, updated_at: 1, reported_at: reported ? 2 : null, reported_tc_uri: reported ? 'wss://old.example:8887' : null,
        reported_model: reported ? 'rpi' : null,
      });
      await sql`insert into stations (eui, name, labels, cups_uri, tc_uri, created_at, updated_at, reported_at, reported_tc_uri, reported_model)
        values ${sql.join([row('0000000000000001', { site: 'north', tier: 'gold' }, true), row('0000000000000002', {}, false)].map((r) => sql`(${sql.join(Object.values(r))})`))}`.execute(backend.db);
      await backend.db.destroy();

      const { registry, fleet } = await createRegistryStores(store.url);
      try {
        await registry.migrate();
        const gold = await fleet.queryStations({ labels: [{ key: 'tier', op: 'eq', value: 'gold' }, { key: 'site', op: 'exists' }], limit: 10 });
        expect(gold.items.map((s) => s.eui)).toEqual(['0000000000000001']);
        const stations = await registry.listStations();
        const summary = await fleet.summarizeFleet({ silentSince: new Date(0) });
        expect(summary.byState.pending_config).toBe(stations.filter((s) => syncState(s) === 'pending_config').length);
        expect(summary.byState.pending_config).toBe(1);
        expect(summary.byState.never_seen).toBe(1);
      } finally {
        await registry.close();
      }
    } finally {
      await store.dispose();
    }
  });
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`fleet migration on ${driver.name}`, () => suite(driver));
}
