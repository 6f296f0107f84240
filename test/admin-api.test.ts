import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleAllows, ROLES, type Role } from '../src/core/roles.js';
import { adminClient, type Json } from './support/admin-client.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let origin: string;
let call: ReturnType<typeof adminClient>;
const keys = {} as Record<Role, string>;
/** Every secret the test saw; none may appear in the audit log or the database files. */
const secrets: string[] = [];
/** Changes the API accepted, each of which must have exactly one audit entry. */
const changes: { action: string; target: string; actor: string }[] = [];
const STATION = '0016C001FF10A235';
let euiCounter = 0x100;
const nextEui = () => `58A0CBFFFE${(euiCounter++).toString(16).toUpperCase().padStart(6, '0')}`;

beforeAll(async () => {
  server = await startTestServer();
  const admin = server.server.admin;
  origin = admin.url.replace(/\/api\/v1$/, '');
  call = adminClient(origin);
  expect(admin.firstAdminKey).toMatch(/^bsk_/);
  secrets.push(admin.firstAdminKey as string);
  for (const role of ROLES) {
    const r = await call('POST', '/api/v1/api-keys', admin.firstAdminKey as string, { name: `${role}-key`, role });
    expect(r.status, r.text).toBe(201);
    keys[role] = r.body.secret;
    secrets.push(r.body.secret);
    changes.push({ action: 'apikey.create', target: r.body.key.id, actor: 'first-admin' });
  }
  const created = await call('POST', '/api/v1/stations', keys.operator, { eui: STATION, name: 'Roof', labels: { site: 'north' } });
  expect(created.status, created.text).toBe(201);
  changes.push({ action: 'station.create', target: STATION, actor: 'operator-key' });
});
afterAll(async () => server?.stop());

interface RouteCase {
  readonly route: string;
  readonly needs: Role;
  /** Builds one request (creating what it acts on first when it consumes it). */
  request(): Promise<{ path: string; body?: unknown; action?: string; target?: string | ((body: Json) => string) }>;
}

const CASES: RouteCase[] = [
  { route: 'GET /api/v1/stations', needs: 'viewer', request: async () => ({ path: '/api/v1/stations?label=site=north&state=never_seen&limit=10' }) },
  {
    route: 'POST /api/v1/stations',
    needs: 'operator',
    request: async () => {
      const eui = nextEui();
      return { path: '/api/v1/stations', body: { eui, cupsUri: 'https://cups.example:443' }, action: 'station.create', target: eui };
    },
  },
  { route: 'GET /api/v1/stations/:eui', needs: 'viewer', request: async () => ({ path: `/api/v1/stations/${STATION}` }) },
  {
    route: 'PATCH /api/v1/stations/:eui',
    needs: 'operator',
    request: async () => ({ path: `/api/v1/stations/${STATION}`, body: { tcUri: 'wss://lns.example:8887', labels: { tier: 'gold' } }, action: 'station.update', target: STATION }),
  },
  {
    route: 'DELETE /api/v1/stations/:eui',
    needs: 'operator',
    request: async () => {
      const eui = nextEui();
      await server.runtime.registry.createStation({ eui });
      return { path: `/api/v1/stations/${eui}`, action: 'station.remove', target: eui };
    },
  },
  { route: 'GET /api/v1/stations/:eui/events', needs: 'viewer', request: async () => ({ path: `/api/v1/stations/${STATION}/events?type=config` }) },
  { route: 'GET /api/v1/events', needs: 'viewer', request: async () => ({ path: '/api/v1/events?limit=5' }) },
  { route: 'GET /api/v1/fleet/summary', needs: 'viewer', request: async () => ({ path: '/api/v1/fleet/summary' }) },
  { route: 'GET /api/v1/unknown-stations', needs: 'viewer', request: async () => ({ path: '/api/v1/unknown-stations' }) },
  { route: 'GET /api/v1/signing-keys', needs: 'viewer', request: async () => ({ path: '/api/v1/signing-keys' }) },
  { route: 'GET /api/v1/audit', needs: 'viewer', request: async () => ({ path: '/api/v1/audit?limit=3' }) },
  { route: 'GET /api/v1/api-keys', needs: 'admin', request: async () => ({ path: '/api/v1/api-keys' }) },
  {
    route: 'POST /api/v1/api-keys',
    needs: 'admin',
    request: async () => ({ path: '/api/v1/api-keys', body: { name: 'matrix', role: 'viewer', expires: '30d' }, action: 'apikey.create', target: (b) => b.key.id }),
  },
  {
    route: 'DELETE /api/v1/api-keys/:id',
    needs: 'admin',
    request: async () => {
      const made = await call('POST', '/api/v1/api-keys', keys.admin, { name: 'to-revoke', role: 'viewer' });
      secrets.push(made.body.secret);
      changes.push({ action: 'apikey.create', target: made.body.key.id, actor: 'admin-key' });
      return { path: `/api/v1/api-keys/${made.body.key.id}`, action: 'apikey.revoke', target: made.body.key.id };
    },
  },
];

describe('admin API over a real socket', () => {
  it('answers each route for the roles that may use it and refuses the others (role matrix)', async () => {
    for (const c of CASES) {
      const method = c.route.split(' ')[0] as string;
      for (const caller of [undefined, ...ROLES]) {
        const req = await c.request();
        const r = await call(method, req.path, caller === undefined ? undefined : keys[caller], req.body);
        const label = `${c.route} as ${caller ?? 'nobody'}: ${r.text.slice(0, 200)}`;
        if (caller === undefined) {
          expect(r.status, label).toBe(401);
          expect(r.body.error).toMatchObject({ code: 'api_key_required', kind: 'unauthenticated' });
        } else if (roleAllows(caller, c.needs)) {
          expect(r.status, label).toBeGreaterThanOrEqual(200);
          expect(r.status, label).toBeLessThan(300);
          if (req.action !== undefined) {
            const target = typeof req.target === 'function' ? req.target(r.body) : (req.target as string);
            changes.push({ action: req.action, target, actor: `${caller}-key` });
            if (req.action === 'apikey.create') secrets.push(r.body.secret);
          }
        } else {
          expect(r.status, label).toBe(403);
          expect(r.body.error).toMatchObject({ code: 'role_required', kind: 'permission_denied' });
        }
      }
    }
  });

  it('writes one audit entry per accepted change, naming who, what, when and from where, and never a secret', async () => {
    const entries: Json[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; text: string; body: Json } = await call('GET', `/api/v1/audit?limit=7${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, keys.viewer);
      expect(r.status, r.text).toBe(200);
      entries.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor !== null);
    const apiEntries = entries.filter((e) => e.via === 'api');
    expect(apiEntries.map((e) => `${e.action} ${e.target} ${e.actor}`).sort()).toEqual(changes.map((c) => `${c.action} ${c.target} ${c.actor}`).sort());
    for (const e of apiEntries) {
      expect(e.remoteAddress).toMatch(/127\.0\.0\.1/);
      expect(Date.parse(e.at)).toBeGreaterThan(Date.now() - 600_000);
      expect(e.actorKeyId).toMatch(/^[0-9a-f]{16}$/);
    }
    const everything = JSON.stringify(entries);
    expect(secrets.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(everything).not.toContain(secret.split('.')[1]);
    }
    expect(everything).not.toContain('bsk_');
  });

  it('keeps only hashes of API keys: no secret in any file of the database', async () => {
    const dir = server.dir;
    const files = (await readdir(dir)).filter((f) => f.startsWith('registry.sqlite'));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(await Promise.all(files.map((f) => readFile(join(dir, f)))));
    for (const secret of secrets) expect(bytes.includes(Buffer.from(secret.split('.')[1] as string))).toBe(false);
  });

  it('refuses revoked, expired, unknown and malformed keys', async () => {
    const made = await call('POST', '/api/v1/api-keys', keys.admin, { name: 'short-lived', role: 'operator' });
    secrets.push(made.body.secret);
    expect((await call('GET', '/api/v1/stations', made.body.secret)).status).toBe(200);
    expect((await call('DELETE', `/api/v1/api-keys/${made.body.key.id}`, keys.admin)).body.revokedAt).not.toBeNull();
    const revoked = await call('GET', '/api/v1/stations', made.body.secret);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toContain('revoked');

    // An expired key is stored as the server would have stored it, expiry in the past.
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    await server.runtime.access.addApiKey(
      { id, name: 'expired', role: 'admin', hash: createHash('sha256').update(secret).digest('hex'), createdBy: null, expiresAt: new Date(Date.now() - 1000) },
      new Date(Date.now() - 60_000),
    );
    const expired = await call('GET', '/api/v1/stations', `bsk_${id}.${secret}`);
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatchObject({ code: 'invalid_api_key', kind: 'unauthenticated' });
    expect(expired.body.error.message).toContain('expired');

    const wrongSecret = keys.admin.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`);
    for (const bad of [wrongSecret, `bsk_${'0'.repeat(16)}.${'A'.repeat(43)}`, 'not-a-key']) {
      const r = await call('GET', '/api/v1/stations', bad);
      expect(r.status, bad).toBe(401);
      expect(r.body.error.kind).toBe('unauthenticated');
    }
  });

  it('publishes a valid OpenAPI 3.1 document that covers every route, and a reference page with no remote assets', async () => {
    const r = await call('GET', '/api/v1/openapi.json');
    expect(r.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(r.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(r.body.openapi).toMatch(/^3\.1\./);
    const documented = Object.entries(r.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
      .sort();
    const served = server.server.admin.app.adminRoutes
      .filter((route) => !/ \/api\/v1\/(docs|openapi\.json)/.test(route))
      .sort();
    expect(documented).toEqual(served);
    // The matrix above covers this suite's routes; routes added by other features bring their own role tests.
    expect(served).toEqual(expect.arrayContaining(CASES.map((c) => c.route)));
    // Whoever added it, no route but the document and its page answers without a key.
    for (const route of served) {
      const [method, path] = route.split(' ') as [string, string];
      const r = await call(method, path.replace(/:\w+/g, 'x'), undefined, method === 'GET' || method === 'DELETE' ? undefined : {});
      expect(r.status, `${route} without a key: ${r.text.slice(0, 200)}`).toBe(401);
    }

    const page = await call('GET', '/api/v1/docs/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('swagger-ui');
    expect(page.text).not.toMatch(/(src|href)="https?:/);
    const init = await call('GET', '/api/v1/docs/static/swagger-initializer.js');
    expect(init.status).toBe(200);
    expect(init.text).toContain('validatorUrl');
  });

  it('answers errors as {"error":{code,kind,message}} with the status of their kind', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/api/v1/stations/not-an-eui', undefined, 400, 'invalid_eui'],
      ['GET', '/api/v1/stations/0000000000000ABC', undefined, 404, 'station_not_found'],
      ['POST', '/api/v1/stations', { eui: STATION }, 409, 'station_exists'],
      ['POST', '/api/v1/stations', { eui: nextEui(), cupsUri: 'https://cups.example/path' }, 400, ''],
      ['GET', '/api/v1/stations?state=sleepy', undefined, 400, 'invalid_state'],
      ['GET', '/api/v1/stations?limit=5000', undefined, 400, 'invalid_request'],
      ['GET', '/api/v1/stations?cursor=garbage', undefined, 400, 'invalid_cursor'],
      ['GET', '/api/v1/nowhere', undefined, 404, 'route_not_found'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(method, path, keys.admin, body);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
      expect(Object.keys(r.body.error).sort()).toEqual(['code', 'kind', 'message']);
      if (code !== '') expect(r.body.error.code).toBe(code);
    }
  });

  it('never serves the API nor the fleet gauges on the station port; the admin /metrics has them for a viewer key', async () => {
    const onStationPort = await fetch(`${server.url}/api/v1/stations`, { headers: { authorization: `Bearer ${keys.admin}` } });
    expect(onStationPort.status).toBe(404);
    await onStationPort.text();
    // Anyone on the gateways' network reaches the station port: its /metrics is this process's, nothing about the fleet.
    const stationMetrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(stationMetrics).toContain('bscups_update_info_requests_total');
    expect(stationMetrics).toContain('bscups_process_cpu_seconds_total');
    expect(stationMetrics).not.toMatch(/bscups_fleet|bscups_rollout|model=|package=/);

    const unkeyed = await call('GET', '/metrics');
    expect(unkeyed.status).toBe(401);
    expect(unkeyed.body.error.code).toBe('api_key_required');
    expect(unkeyed.text).not.toContain('bscups_fleet');
    const summary = await call('GET', '/api/v1/fleet/summary', keys.viewer);
    const scraped = await call('GET', '/metrics', keys.viewer);
    expect(scraped.status).toBe(200);
    const metrics = scraped.text;
    expect(metrics).toContain('bscups_fleet_summary_ok 1');
    for (const [state, n] of Object.entries(summary.body.byState as Record<string, number>)) {
      expect(metrics).toContain(`bscups_fleet_stations{state="${state}"} ${n}`);
    }
    expect(metrics).toContain(`bscups_fleet_stations_by_model{model="none"} ${summary.body.total}`);
    expect(metrics).toMatch(/bscups_fleet_upgrades\{state="pending"\} 0/);
  });
});
