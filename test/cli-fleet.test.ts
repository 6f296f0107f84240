import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncState, SYNC_STATES } from '../src/core/sync-status.js';
import { createRegistry, type Station } from '../src/registry/index.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { seedFleet } from './support/fleet-fixture.js';
import { startServeProcess } from './support/serve-process.js';

let dir: string;
let env: Record<string, string>;
let all: Station[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-cli-fleet-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  const registry = await createRegistry(env.BSCUPS_DATABASE as string);
  await registry.migrate();
  await seedFleet(registry, 40);
  all = await registry.listStations();
  await registry.close();
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('fleet commands in direct-database mode', () => {
  it('status prints the summary as tables and as JSON, counts matching the core sync state', async () => {
    const summary = await bscupsJson<{ total: number; byState: Record<string, number> }>(['status'], env);
    expect(summary.total).toBe(40);
    for (const state of SYNC_STATES) expect(summary.byState[state], state).toBe(all.filter((s) => syncState(s) === state).length);
    const table = await bscupsInProcess(['status'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^never seen\\s+${summary.byState.never_seen}$`, 'm'));
    expect(table.stdout).toMatch(/^total\s+40$/m);
    expect(table.stdout).toMatch(/^PACKAGE\s+STATIONS$/m);
    expect(table.stdout).toMatch(/^UPGRADE STATE\s+UPGRADES$/m);
  });

  it('station list filters like the API and pages with --limit and --cursor', async () => {
    const listed = await bscupsJson<{ eui: string }[]>(['station', 'list', '--label', 'site!=north', '--state', 'in-sync,pending-config'], env);
    const expected = all.filter((s) => s.labels.site !== 'north' && ['in_sync', 'pending_config'].includes(syncState(s))).map((s) => s.eui);
    expect(expected.length).toBeGreaterThan(0);
    expect(listed.map((s) => s.eui)).toEqual(expected);

    const first = await bscupsInProcess(['--json', 'station', 'list', '--limit', '15', '--sort', 'lastSeen', '--desc'], env);
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await bscupsJson<{ eui: string }[]>(['station', 'list', '--limit', '15', '--sort', 'lastSeen', '--desc', '--cursor', cursor as string], env);
    const firstEuis = (JSON.parse(first.stdout) as { eui: string }[]).map((s) => s.eui);
    expect(firstEuis).toHaveLength(15);
    expect(second).toHaveLength(15);
    expect(second.filter((s) => firstEuis.includes(s.eui))).toEqual([]);

    const bad = await bscupsInProcess(['station', 'list', '--state', 'sleepy'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('never_seen');
  });

  it('apikey create prints the key once, list never shows it, revoke and audit record who did it', async () => {
    const created = await bscupsInProcess(['apikey', 'create', '--name', 'grafana', '--role', 'viewer', '--expires', '30d'], env);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^bsk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    const id = secret.slice(4, 20);
    const keys = await bscupsInProcess(['--json', 'apikey', 'list'], env);
    expect(keys.stdout).toContain(id);
    expect(keys.stdout).not.toContain(secret.split('.')[1]);
    expect((await bscupsInProcess(['apikey', 'revoke', id], env)).code).toBe(0);
    const audit = await bscupsJson<{ action: string; target: string; actor: string; via: string }[]>(['audit'], env);
    expect(audit.slice(0, 2).map((e) => `${e.action} ${e.target} ${e.via}`)).toEqual([`apikey.revoke ${id} cli`, `apikey.create ${id} cli`]);
    expect(audit[0]?.actor).toMatch(/^local:/);
    expect(JSON.stringify(audit)).not.toContain(secret.split('.')[1]);
  });
});

describe('serve on first start', () => {
  it('creates an admin key, prints it once with the API address, and never again', async () => {
    const fresh = { BSCUPS_DATABASE: join(dir, 'first.sqlite'), BSCUPS_BLOBS: join(dir, 'first-blobs') };
    const first = await startServeProcess(fresh);
    let key: string;
    try {
      const line = JSON.parse(await first.waitForLine(/"listening"/)) as { admin: string; firstAdminKey?: string };
      expect(line.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
      expect(line.firstAdminKey).toMatch(/^bsk_/);
      key = line.firstAdminKey as string;
      const ok = await fetch(`${line.admin}/fleet/summary`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      await ok.text();
      const refused = await fetch(`${line.admin}/fleet/summary`);
      expect(refused.status).toBe(401);
      await refused.text();
    } finally {
      await first.stop();
    }
    const second = await startServeProcess(fresh);
    try {
      const line = JSON.parse(await second.waitForLine(/"listening"/)) as { admin: string; firstAdminKey?: string };
      expect(line.firstAdminKey).toBeUndefined();
      const still = await fetch(`${line.admin}/api-keys`, { headers: { authorization: `Bearer ${key}` } });
      expect(((await still.json()) as unknown[]).length).toBe(1);
    } finally {
      await second.stop();
    }
  });
});
