import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { localActor, type OperationContext } from '../src/operations/context.js';
import { exportStations } from '../src/operations/station-export.js';
import { importStations, type ImportResult } from '../src/operations/station-import.js';
import { detectFormat, parseImportText, type ExportFormat } from '../src/operations/station-import-format.js';
import { registerStation } from '../src/operations/stations.js';
import { createRegistryBackend } from '../src/registry/open-backend.js';
import { createRegistryStores, type RegistryStores } from '../src/registry/index.js';
import { registryDrivers, type Driver, type Store } from './support/registry-drivers.js';

const drivers = await registryDrivers('station import');

async function exported(ctx: OperationContext, format: ExportFormat): Promise<string> {
  let text = '';
  for await (const chunk of exportStations(ctx, format)) text += chunk;
  return text;
}

/**
 * The file read as a stream (as the CLI and the API read it), in small pieces so records cross them.
 * `force`: rows that set an authMode the station holds no credential for (refused without it: test/auth-mode-credentials.test.ts).
 */
function run(ctx: OperationContext, text: string, options: { dryRun?: boolean; batchSize?: number; force?: boolean } = {}): Promise<ImportResult> {
  return importStations(ctx, { open: () => pieces(text, 7) }, options);
}

async function* pieces(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

/** What the registry holds, every field an import could touch or must leave alone (timestamps included). */
async function snapshot(stores: RegistryStores): Promise<string> {
  const stations = await stores.registry.listStations();
  const provisioned = await stores.fleet.exportStations(null, 1000);
  const events = await Promise.all(stations.map((s) => stores.registry.listEvents(s.eui)));
  return JSON.stringify({ stations, provisioned, events: events.map((e) => e.length) });
}

const A = '0016C001FF10A235';
const B = '0016C001FF10A236';
const C = '0016C001FF10A237';

function suite(driver: Driver): void {
  let store: Store;
  let stores: RegistryStores;
  let ctx: OperationContext;
  let tick = Date.parse('2026-12-01T00:00:00Z');

  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());
  beforeEach(async () => {
    store = await driver.fresh();
    stores = await createRegistryStores(store.url, driver.options);
    await stores.registry.migrate();
    // Every operation a millisecond later, so an update that should not happen would show in updatedAt.
    ctx = { ...stores, blobs: createMemoryBlobStore(), clock: () => new Date(tick++), actor: localActor() };
  });
  afterEach(async () => {
    await stores.registry.close();
    await store.dispose();
  });

  async function seed(): Promise<void> {
    await registerStation(ctx, { eui: A, name: 'Roof, "north" tower', labels: { site: 'north', note: 'a;b=c\\d' }, cupsUri: 'https://cups.example:443', tcUri: 'wss://lns.example:8887' });
    await registerStation(ctx, { eui: B, name: null, labels: {} });
    await registerStation(ctx, { eui: C, name: ' spaced ', labels: { tier: 'gold' }, tcUri: 'wss://lns.example:8887' });
    await stores.registry.setAuthMode(C, 'token', ctx.clock());
  }

  for (const format of ['csv', 'jsonl'] as const) {
    it(`export → import (${format}) changes nothing, and rebuilds the same stations in an empty registry`, async () => {
      await seed();
      const file = await exported(ctx, format);
      expect(file.split(/\r?\n/).filter((l) => l !== '')).toHaveLength(format === 'csv' ? 4 : 3);
      const before = await snapshot(stores);
      const again = await run(ctx, file);
      expect(again.counts).toEqual({ rows: 3, create: 0, update: 0, unchanged: 3, error: 0, skipped: 0 });
      expect(again.complete).toBe(true);
      expect(await snapshot(stores)).toBe(before);

      const other = await driver.fresh();
      const copy = await createRegistryStores(other.url, driver.options);
      try {
        await copy.registry.migrate();
        const copyCtx = { ...ctx, ...copy };
        const created = await run(copyCtx, file, { force: true });
        expect(created.rows.map((r) => `${r.eui} ${r.action}`)).toEqual([`${A} create`, `${B} create`, `${C} create`]);
        expect(await exported(copyCtx, format)).toBe(file);
        expect((await copy.fleet.readProvisioned([C]))[0]?.authMode).toBe('token');
        expect((await copy.fleet.queryStations({ labels: [{ key: 'note', op: 'eq', value: 'a;b=c\\d' }], limit: 10 })).items.map((s) => s.eui)).toEqual([A]);
      } finally {
        await copy.registry.close();
        await other.dispose();
      }
    });
  }

  it('a dry run reports per row what would change and changes nothing; the import then does exactly that, once', async () => {
    await seed();
    const file = [
      'eui,name,labels,cupsUri,tcUri,authMode',
      `${A},"Roof, ""north"" tower",site=south,https://cups.example:443,wss://lns.example:8887,mtls`,
      `${B},,,,,none`,
      '00-16-c0-01-ff-10-a2-38,New one,site=east,,wss://lns.example:8887,',
      `${C},x,bad key=1,http://nope,ws://lns.example:1,`,
    ].join('\n');
    const before = await snapshot(stores);
    const auditBefore = (await stores.access.queryAudit({ limit: 100 })).items.length;
    const dry = await run(ctx, file, { dryRun: true, force: true });
    const summary = (r: ImportResult) => r.rows.map((row) => ({ row: row.row, eui: row.eui, action: row.action, fields: row.fields, errors: row.errors?.map((e) => `${e.field}:${e.code}`) }));
    const expected = [
      { row: 1, eui: A, action: 'update', fields: ['labels', 'authMode'], errors: undefined },
      { row: 2, eui: B, action: 'unchanged', fields: undefined, errors: undefined },
      { row: 3, eui: '0016C001FF10A238', action: 'create', fields: ['name', 'labels', 'cupsUri', 'tcUri'], errors: undefined },
      { row: 4, eui: null, action: 'error', fields: undefined, errors: ['labels:invalid_label', 'cupsUri:invalid_uri'] },
    ];
    expect(summary(dry)).toEqual(expected);
    expect(dry.dryRun).toBe(true);
    expect(await snapshot(stores)).toBe(before);
    expect((await stores.access.queryAudit({ limit: 100 })).items).toHaveLength(auditBefore);

    const real = await run(ctx, file, { force: true });
    expect(summary(real)).toEqual(expected);
    // Read from the database: a cached registry hears of the import through its change feed, a moment later.
    const [a, created] = await stores.fleet.readProvisioned([A, '0016C001FF10A238']);
    expect([a?.labels, a?.authMode]).toEqual([{ site: 'south' }, 'mtls']);
    expect((await stores.registry.listEvents(A)).map((e) => e.message)).toContain('auth mode set to mtls (was none) (import)');
    expect(created?.tcUri).toBe('wss://lns.example:8887');
    const audit = (await stores.access.queryAudit({ action: 'station.import', limit: 10 })).items;
    expect(audit.map((e) => e.detail)).toEqual([expect.objectContaining({ rows: 4, created: 1, updated: 1, unchanged: 1, errors: 1, complete: true })]);

    const after = await snapshot(stores);
    const second = await run(ctx, file, { force: true });
    expect(second.counts).toEqual({ rows: 4, create: 0, update: 0, unchanged: 3, error: 1, skipped: 0 });
    expect(await snapshot(stores)).toBe(after);
  });

  it('reports every bad row with its row, line, field and reason, and applies the good rows of the same batches', async () => {
    const file = [
      'EUI,Name,Labels,CUPS_URI,tc-uri,authMode',
      '0016C001FF100001,good 1,site=a,,,',
      'not-an-eui,bad eui,,,,',
      '0016C001FF100002,good 2,,,,token',
      '0016C001FF100003,bad uri,,https://cups.example:443/path,,',
      '"0016C001FF100004","multi',
      'line name",,,,',
      '0016C001FF100005,bad mode,,,,kerberos',
      '0016C001FF100001,duplicate,,,,',
      '0016C001FF100006,too few cells',
      '0016C001FF100007,bad label cell,site,,,',
      ',no eui,,,,',
    ].join('\r\n');
    const result = await run(ctx, file, { batchSize: 2, force: true });
    const errors = result.rows.filter((r) => r.action === 'error').map((r) => ({ row: r.row, line: r.line, problems: r.errors?.map((e) => [e.field, e.code]) }));
    expect(errors).toEqual([
      { row: 2, line: 3, problems: [['eui', 'invalid_eui']] },
      { row: 4, line: 5, problems: [['cupsUri', 'invalid_uri']] },
      { row: 6, line: 8, problems: [['authMode', 'invalid_auth_mode']] },
      { row: 7, line: 9, problems: [['eui', 'duplicate_eui']] },
      { row: 8, line: 10, problems: [[null, 'invalid_row']] },
      { row: 9, line: 11, problems: [['labels', 'invalid_label']] },
      { row: 10, line: 12, problems: [['eui', 'missing_eui']] },
    ]);
    for (const r of result.rows.filter((x) => x.action === 'error')) for (const e of r.errors ?? []) expect(e.message.length).toBeGreaterThan(10);
    expect(result.rows.filter((r) => r.action === 'create').map((r) => r.eui)).toEqual(['0016C001FF100001', '0016C001FF100002', '0016C001FF100004']);
    expect((await stores.registry.listStations()).map((s) => `${s.eui} ${s.name}`)).toEqual([
      '0016C001FF100001 good 1',
      '0016C001FF100002 good 2',
      '0016C001FF100004 multi\r\nline name',
    ]);
    expect((await stores.fleet.readProvisioned(['0016C001FF100002']))[0]?.authMode).toBe('token');
  });

  it('a file cut short after many batches changes nothing: every row is read and checked before the first batch is written', async () => {
    const lines = ['eui,name'];
    for (let i = 0; i < 30; i++) lines.push(`0016C001FF3${i.toString().padStart(5, '0')},row ${i}`);
    const before = await snapshot(stores);
    await expect(run(ctx, `${lines.join('\n')}\n0016C001FF399999,"never closed\n`, { batchSize: 5 })).rejects.toMatchObject({ code: 'import_malformed_csv' });
    expect(await snapshot(stores)).toBe(before);
    expect((await run(ctx, `${lines.join('\n')}\n`, { batchSize: 5 })).counts).toMatchObject({ rows: 30, create: 30 });
  });

  it('takes JSON lines: absent keys stay, null clears, every problem of a row reported', async () => {
    await seed();
    const file = [
      JSON.stringify({ eui: A, tcUri: null, name: 'renamed' }),
      '{"eui": "not json"',
      JSON.stringify({ eui: B, labels: { ok: 'yes', 'bad key': 'x' }, cupsUri: 5, colour: 'red' }),
    ].join('\n');
    const result = await run(ctx, file);
    expect(result.rows.map((r) => [r.action, r.fields ?? r.errors?.map((e) => `${e.field}:${e.code}`)])).toEqual([
      ['update', ['name', 'tcUri']],
      ['error', ['null:invalid_json']],
      ['error', ['colour:unknown_field', 'labels:invalid_label', 'cupsUri:invalid_cupsUri']],
    ]);
    const [a] = await stores.fleet.readProvisioned([A]);
    expect([a?.name, a?.tcUri, a?.cupsUri, a?.labels]).toEqual(['renamed', null, 'https://cups.example:443', { site: 'north', note: 'a;b=c\\d' }]);
  });

  it('takes a JSON array, each element reported with the line it starts on', async () => {
    await seed();
    const file = `[\n  {"eui": "${A}", "name": "from array"},\n  "not an object",\n  {\n    "eui": "${B}",\n    "tcUri": "http://lns"\n  }\n]\n`;
    expect(detectFormat(file)).toBe('json');
    const result = await run(ctx, file);
    expect(result.rows.map((r) => [r.row, r.line, r.action, r.errors?.map((e) => `${String(e.field)}:${e.code}`)])).toEqual([
      [1, 2, 'update', undefined],
      [2, 3, 'error', ['null:invalid_row']],
      [3, 4, 'error', ['tcUri:invalid_uri']],
    ]);
    expect((await stores.fleet.readProvisioned([A]))[0]?.name).toBe('from array');
    expect(() => parseImportText('[{"eui": 1},', 'json')).toThrow(/not valid JSON/);
  });
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`station import on ${driver.name}`, () => suite(driver));
}

// A database that refuses one station's row: a real failure inside a batch's transaction.
describe('station import when a batch transaction fails (SQLite file)', () => {
  const driver = drivers.find((d) => d.name === 'SQLite file') as Driver;
  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());

  it('rolls that batch back whole, keeps the batches before, skips the rest, and a second run completes it', async () => {
    const store = await driver.fresh();
    const stores = await createRegistryStores(store.url);
    try {
      await stores.registry.migrate();
      const backend = await createRegistryBackend(store.url, {});
      await sql`create trigger refuse_one before insert on stations when new.eui = '0016C001FF100005' begin select raise(abort, 'refused by test trigger'); end`.execute(backend.db);
      const ctx: OperationContext = { ...stores, blobs: createMemoryBlobStore(), clock: () => new Date(), actor: localActor() };
      const rows = Array.from({ length: 8 }, (_, i) => `0016C001FF10000${i + 1},s${i + 1},,,,`);
      const file = ['eui,name,labels,cupsUri,tcUri,authMode', ...rows].join('\n');
      const first = await run(ctx, file, { batchSize: 3 });
      expect(first.complete).toBe(false);
      expect(first.rows.map((r) => r.action)).toEqual(['create', 'create', 'create', 'error', 'error', 'error', 'skipped', 'skipped']);
      expect(first.rows[3]?.errors?.[0]?.message).toMatch(/rows 4 to 6 was rolled back/);
      expect((await stores.registry.listStations()).map((s) => s.name)).toEqual(['s1', 's2', 's3']);
      expect((await stores.access.queryAudit({ action: 'station.import', limit: 5 })).items[0]?.detail).toMatchObject({ created: 3, errors: 3, skipped: 2, complete: false });

      await sql`drop trigger refuse_one`.execute(backend.db);
      await backend.db.destroy();
      const second = await run(ctx, file, { batchSize: 3 });
      expect(second.complete).toBe(true);
      expect(second.counts).toMatchObject({ unchanged: 3, create: 5, error: 0 });
      expect(await stores.registry.listStations()).toHaveLength(8);
    } finally {
      await stores.registry.close();
      await store.dispose();
    }
  });
});

describe('10,000-row import in batches', () => {
  for (const driver of drivers.filter((d) => ['SQLite file', 'PostgreSQL'].includes(d.name))) {
    describe.skipIf(driver.skip)(driver.name, () => {
      beforeAll(() => driver.setup?.());
      afterAll(() => driver.teardown?.());

      it('creates 10,000 stations in batches of 500, a second run finds them all unchanged, a third updates them all: seconds each', { timeout: 120_000 }, async () => {
        const store = await driver.fresh();
        const stores = await createRegistryStores(store.url);
        try {
          await stores.registry.migrate();
          const ctx: OperationContext = { ...stores, blobs: createMemoryBlobStore(), clock: () => new Date(), actor: localActor() };
          const eui = (i: number) => (0x58a0cbfffe000000n + BigInt(i)).toString(16).toUpperCase().padStart(16, '0');
          const fileOf = (version: string, tier: (i: number) => string, mode: (i: number) => string) => {
            const lines = ['eui,name,labels,cupsUri,tcUri,authMode'];
            for (let i = 0; i < 10_000; i++) lines.push(`${eui(i)},Gateway ${i}${version},site=s${i % 7};tier=${tier(i)},,wss://lns.example:8887,${mode(i)}`);
            return lines.join('\n');
          };
          const file = fileOf('', (i) => (i % 10 === 0 ? 'gold' : 'std'), (i) => (i % 3 === 0 ? 'token' : ''));
          const t0 = performance.now();
          const created = await run(ctx, file, { force: true });
          const createMs = performance.now() - t0;
          expect(created.counts).toEqual({ rows: 10_000, create: 10_000, update: 0, unchanged: 0, error: 0, skipped: 0 });
          const t1 = performance.now();
          const again = await run(ctx, file, { force: true });
          const againMs = performance.now() - t1;
          expect(again.counts.unchanged).toBe(10_000);
          const t2 = performance.now();
          const changed = await run(ctx, fileOf(' v2', (i) => (i % 10 === 1 ? 'gold' : 'std'), (i) => (i % 3 === 0 ? 'mtls' : 'token')), { force: true });
          const updateMs = performance.now() - t2;
          expect(changed.counts).toMatchObject({ rows: 10_000, update: 10_000, error: 0 });
          expect(await stores.fleet.readProvisioned([eui(0), eui(1), eui(2)])).toEqual([
            { eui: eui(0), name: 'Gateway 0 v2', labels: { site: 's0', tier: 'std' }, cupsUri: null, tcUri: 'wss://lns.example:8887', authMode: 'mtls' },
            { eui: eui(1), name: 'Gateway 1 v2', labels: { site: 's1', tier: 'gold' }, cupsUri: null, tcUri: 'wss://lns.example:8887', authMode: 'token' },
            { eui: eui(2), name: 'Gateway 2 v2', labels: { site: 's2', tier: 'std' }, cupsUri: null, tcUri: 'wss://lns.example:8887', authMode: 'token' },
          ]);
          console.info(
            `station import, 10,000 rows on ${driver.name}: create ${(createMs / 1000).toFixed(1)} s, unchanged re-run ${(againMs / 1000).toFixed(1)} s, update all ${(updateMs / 1000).toFixed(1)} s`,
          );
          // A few statements per batch (about 1 s each here); generous for a shared, busy machine. Statements
          // per station, or a plan that scans per key, take tens of seconds on PostgreSQL.
          for (const ms of [createMs, againMs, updateMs]) expect(ms).toBeLessThan(15_000);
          expect((await stores.fleet.summarizeFleet({ silentSince: new Date() })).total).toBe(10_000);
          const gold = (await stores.fleet.queryStations({ labels: [{ key: 'tier', op: 'eq', value: 'gold' }], limit: 1000 })).items;
          expect(gold).toHaveLength(1000);
          expect(gold.every((s) => s.name?.endsWith(' v2') === true && s.labels['tier'] === 'gold')).toBe(true);
        } finally {
          await stores.registry.close();
          await store.dispose();
        }
      });
    });
  }
});
