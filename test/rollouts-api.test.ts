import { createPrivateKey, sign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, roleAllows, type Role } from '../src/core/roles.js';
import { adminClient, type Json } from './support/admin-client.js';
import { bscupsJson } from './support/cli-in-process.js';
import { updateScript } from './support/rollout-fleet.js';
import { startTestServer, type TestServer } from './support/server.js';

// The firmware library and rollouts through the admin API over a real socket:
// viewer reads, operator changes; uploads stream; /metrics shows the rollout.
let server: TestServer;
let call: ReturnType<typeof adminClient>;
let origin: string;
let work: string;
let keyCrc: number;
let pem: Buffer;
const keys = {} as Record<Role, string>;
const UPDATE = Buffer.from(updateScript('3.1.0'));

async function upload(pkg: string, key: string | undefined, body: Buffer, signature: Buffer, models: string[] = []) {
  const q = new URLSearchParams([['keyCrc', String(keyCrc)], ['signature', signature.toString('base64')], ...models.map((m): [string, string] => ['model', m])]);
  const res = await fetch(`${origin}/api/v1/firmware/${pkg}?${q}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body,
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const signed = (data: Buffer) => sign('sha512', data, { key: createPrivateKey(pem), dsaEncoding: 'der' });

beforeAll(async () => {
  server = await startTestServer({ config: { rolloutInterval: 0.1 } });
  origin = server.server.admin.url.replace(/\/api\/v1$/, '');
  call = adminClient(origin);
  const first = server.server.admin.firstAdminKey as string;
  for (const role of ROLES) keys[role] = (await call('POST', '/api/v1/api-keys', first, { name: `${role}-key`, role })).body.secret;
  work = await mkdtemp(join(tmpdir(), 'bscups-rollouts-api-'));
  keyCrc = (await bscupsJson<{ crc: number }>(['keys', 'generate', '--out', join(work, 'keys')])).crc;
  pem = await readFile(join(work, 'keys', 'sig-0.pem'));
  await bscupsJson(['keys', 'add', join(work, 'keys', 'sig-0.key')], server.env);
  for (let i = 1; i <= 4; i++) {
    const r = await call('POST', '/api/v1/stations', keys.operator, { eui: `00000000000AF00${i}`, labels: { ring: 'api' } });
    expect(r.status, r.text).toBe(201);
    // Seen once: a rollout skips a station that never contacted the server.
    await server.runtime.registry.touchStation(`00000000000AF00${i}`, { at: new Date(), remoteAddress: null });
  }
}, 60_000);
afterAll(async () => {
  await server.stop();
  await rm(work, { recursive: true, force: true });
});

describe('firmware library and rollouts over the admin API', () => {
  it('uploads a package streamed and verified; only operators may, and a bad signature stores nothing', async () => {
    for (const role of ROLES) {
      const r = await upload(`3.1.0-${role}`, keys[role], UPDATE, signed(UPDATE), ['linux']);
      expect(r.status, JSON.stringify(r.body)).toBe(roleAllows(role, 'operator') ? 201 : 403);
    }
    expect((await upload('3.1.0-x', undefined, UPDATE, signed(UPDATE))).status).toBe(401);
    const bad = await upload('3.1.0-bad', keys.operator, UPDATE, signed(Buffer.from('something else')));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('signature_mismatch');
    const list = await call('GET', '/api/v1/firmware', keys.viewer);
    expect(list.body.map((p: Json) => p.package).sort()).toEqual(['3.1.0-admin', '3.1.0-operator']);
    const shown = await call('GET', '/api/v1/firmware/3.1.0-operator', keys.viewer);
    expect(shown.body).toMatchObject({ size: UPDATE.length, keyCrcs: [keyCrc], models: ['linux'], use: { stations: [], rollouts: [] } });
    expect((await call('DELETE', '/api/v1/firmware/3.1.0-admin', keys.viewer)).status).toBe(403);
    expect((await call('DELETE', '/api/v1/firmware/3.1.0-admin', keys.operator)).body).toEqual({ package: '3.1.0-admin', blobDeleted: false });
  });

  it('creates, shows, pauses, resumes, aborts and rolls back a rollout, each for the roles allowed', async () => {
    const body = { healthSoak: '0', tcUri: 'ws://127.0.0.1:7100', label: ['ring=api'], waves: '1,100%', deadline: '1h' };
    expect((await call('POST', '/api/v1/rollouts', keys.viewer, body)).status).toBe(403);
    const created = await call('POST', '/api/v1/rollouts', keys.operator, body);
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ state: 'running', waves: [{ wave: 1, stations: 1 }, { wave: 2, stations: 3 }], failuresAllowed: 0 });
    const shown = await call('GET', `/api/v1/rollouts/${id}`, keys.viewer);
    expect(shown.body.id).toBe(id);
    expect(Object.values(shown.body.totals as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(4);
    expect(shown.body.members).toBeUndefined();
    expect((await call('GET', `/api/v1/rollouts/${id}/events`, keys.viewer)).body.items[0]).toMatchObject({ type: 'created' });
    const firstMembers = await call('GET', `/api/v1/rollouts/${id}/members?limit=3`, keys.viewer);
    expect(firstMembers.body.items).toHaveLength(3);
    const restMembers = await call('GET', `/api/v1/rollouts/${id}/members?limit=3&cursor=${firstMembers.body.nextCursor}`, keys.viewer);
    expect(restMembers.body).toMatchObject({ items: [{ state: 'pending' }], nextCursor: null });
    expect((await call('GET', `/api/v1/rollouts/${id}/members?state=bogus`, keys.viewer)).body.error).toMatchObject({ code: 'invalid_state', kind: 'invalid_argument' });
    expect((await call('GET', '/api/v1/rollouts?state=running', keys.viewer)).body.items.map((r: Json) => r.id)).toContain(id);
    for (const action of ['pause', 'resume', 'abort'] as const) {
      expect((await call('POST', `/api/v1/rollouts/${id}/${action}`, keys.viewer)).status).toBe(403);
      const r = await call('POST', `/api/v1/rollouts/${id}/${action}`, keys.operator);
      expect(r.status, r.text).toBe(200);
    }
    expect((await call('POST', `/api/v1/rollouts/${id}/pause`, keys.operator)).body.error).toMatchObject({ code: 'rollout_state', kind: 'conflict' });
    const back = await call('POST', `/api/v1/rollouts/${id}/rollback`, keys.operator, {});
    expect(back.status, back.text).toBe(200);
    expect(back.body.rollout).toBe(id);
    const audit = await call('GET', '/api/v1/audit?limit=50', keys.viewer);
    const rows = audit.body.items.filter((e: Json) => e.target === id);
    // The operators' actions, each once; the engine's steps are audited too, under the server's name.
    const actions = rows.filter((e: Json) => e.actor !== 'server').map((e: Json) => e.action);
    expect(actions.sort()).toEqual(['rollout.abort', 'rollout.create', 'rollout.pause', 'rollout.resume', 'rollout.rollback']);
    const engine = rows.filter((e: Json) => e.actor === 'server');
    expect(engine.length).toBeGreaterThan(0);
    expect(new Set(engine.map((e: Json) => e.action))).toEqual(new Set(['rollout.step']));
  });

  it("shows an active rollout on the admin listener's /metrics by member state, and nothing of it on the station port's", async () => {
    const created = await call('POST', '/api/v1/rollouts', keys.operator, { cupsUri: 'http://127.0.0.1:7200', label: ['ring=api'], waves: '100%', deadline: '1h' });
    const id = created.body.id as string;
    let text = '';
    for (let i = 0; i < 100 && !text.includes(`bscups_rollout_stations{rollout="${id}",state="offered"} 4`); i++) {
      // The gauges cache for 5 s: a fresh scrape after the engine offered wave 1.
      await new Promise((r) => setTimeout(r, 100));
      text = (await call('GET', '/metrics', keys.viewer)).text;
    }
    expect(text).toContain(`bscups_rollout_stations{rollout="${id}",state="offered"} 4`);
    expect(text).toContain(`bscups_rollouts_active{rollout="${id}",state="running"} 1`);
    const stationPort = await (await fetch(`${server.url}/metrics`)).text();
    expect(stationPort).toContain('bscups_update_info_requests_total');
    expect(stationPort).not.toContain('bscups_rollout');
    await call('POST', `/api/v1/rollouts/${id}/abort`, keys.operator);
  }, 30_000);
});
