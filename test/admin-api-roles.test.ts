import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRole, roleAllows, ROLES, type Role } from '../src/core/roles.js';
import { ROUTE_INPUT_ROLES, ROUTE_ROLES } from '../src/http/admin/route-roles.js';
import { adminClient, type Json } from './support/admin-client.js';
import { bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

// Walks every route of the OpenAPI document the server itself serves: each must
// declare the role it needs, refuse callers below it with the API's error, and
// refuse callers without a key; a route added later without a role fails here
// (and the server refuses to start without one in src/http/admin/route-roles.ts).

/** Routes only an admin may use, listed here independently of the server's table. */
const ADMIN_ONLY = ['GET /api/v1/api-keys', 'POST /api/v1/api-keys', 'DELETE /api/v1/api-keys/:id', 'POST /api/v1/signing-keys', 'DELETE /api/v1/signing-keys/:crc',
  'GET /api/v1/webhooks', 'POST /api/v1/webhooks', 'DELETE /api/v1/webhooks/:id', 'POST /api/v1/webhooks/:id/test', 'GET /api/v1/webhook-deliveries'];
/** Non-GET routes a viewer may call, and why. */
const VIEWER_MAY_POST: Record<string, string> = { 'POST /api/v1/blobs/gc': 'lists unused blobs; deleting them (delete: true) needs operator, refused below' };

/** Path parameters naming nothing that exists, so a caller allowed through changes nothing. */
const PARAMS: Record<string, string> = { eui: 'FFFFFFFFFFFFFF01', id: 'no-such-id', crc: '1', package: 'no-such-package' };

let server: TestServer;
let call: ReturnType<typeof adminClient>;
let work: string;
const keys = {} as Record<Role, string>;
const secrets: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-roles-'));
  const pki = join(work, 'pki');
  await bscupsJson(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1']);
  server = await startTestServer({ serve: { pkiDir: pki } });
  call = adminClient(server.server.admin.url.replace(/\/api\/v1$/, ''));
  const first = server.server.admin.firstAdminKey as string;
  secrets.push(first);
  for (const role of ROLES) {
    const r = await call('POST', '/api/v1/api-keys', first, { name: `${role}-key`, role });
    expect(r.status, r.text).toBe(201);
    keys[role] = r.body.secret;
    secrets.push(r.body.secret);
  }
});
afterAll(async () => {
  await server?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

interface Operation {
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly role: Role | undefined;
  readonly hasBody: boolean;
}

async function documentedOperations(): Promise<Operation[]> {
  const doc = await call('GET', '/api/v1/openapi.json');
  expect(doc.status).toBe(200);
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.body.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
      const declared: unknown = op.security?.[0]?.apiKey?.[0];
      ops.push({
        route,
        method: method.toUpperCase(),
        path: path.replace(/\{(\w+)\}/g, (_m, name: string) => PARAMS[name] ?? 'x'),
        role: isRole(declared) ? declared : undefined,
        hasBody: op.requestBody !== undefined,
      });
    }
  }
  return ops;
}

describe('every admin API route checks the role it needs', () => {
  it('declares a role per route: GET may be viewer, a change needs operator or more, the key routes admin', async () => {
    const ops = await documentedOperations();
    expect(ops.length).toBeGreaterThan(40);
    // The document covers what the server serves (checked against its routes in admin-api.test.ts too).
    const served = server.server.admin.app.adminRoutes.filter((r) => !/ \/api\/v1\/(docs|openapi\.json)/.test(r));
    expect(ops.map((o) => o.route).sort()).toEqual([...served].sort());
    for (const op of ops) {
      expect(op.role, `${op.route} declares no role`).toBeDefined();
      if (op.method !== 'GET' && VIEWER_MAY_POST[op.route] === undefined) expect(op.role, `${op.route} changes something: a viewer must not`).not.toBe('viewer');
    }
    expect(ops.filter((o) => o.role === 'admin').map((o) => o.route).sort()).toEqual([...ADMIN_ONLY].sort());
  });

  it("states each route's role in its summary from the one route-role table, input that needs more included; never a contradicting hand-written role", async () => {
    const doc = await call('GET', '/api/v1/openapi.json');
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.body.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
        if (/\/api\/v1\/(docs|openapi\.json)/.test(route)) continue;
        const role = ROUTE_ROLES[route];
        expect(role, route).toBeDefined();
        const summary = String(op.summary);
        expect(summary, route).toMatch(new RegExp(` \\(needs ${role as string}(; [^)]*)?\\)$`));
        // No other role word in the summary than the ones the tables give.
        const named = [...summary.matchAll(/needs (viewer|operator|admin)/g)].map((m) => m[1]);
        expect(named, route).toEqual([role, ...(ROUTE_INPUT_ROLES[route] ?? []).map((r) => r.role)]);
        expect(summary, route).not.toMatch(/\((viewer|operator|admin)\)/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
    // blobs gc: listing is viewer, delete is operator, in the summary and in the body's field, as the operation enforces.
    const gc = doc.body.paths['/api/v1/blobs/gc'].post;
    expect(gc.summary).toMatch(/\(needs viewer; delete: true needs operator\)$/);
    const schema = gc.requestBody.content['application/json'].schema;
    const fields = (schema.$ref === undefined ? schema : doc.body.components.schemas[String(schema.$ref).split('/').pop() as string]).properties;
    expect(fields.delete.description).toContain('needs operator');
    expect(JSON.stringify(doc.body)).not.toMatch(/\((admin|operator|viewer)\)/);
    const asOperator = await call('POST', '/api/v1/blobs/gc', keys.operator, { delete: true, minAge: '1h' });
    expect(asOperator.status, asOperator.text).toBe(200);
  });

  it('refuses a request without a key (401), and every key below the route role (403, the API error shape), before reading the body', async () => {
    const ops = await documentedOperations();
    for (const op of ops) {
      const body = op.hasBody || op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH' ? {} : undefined;
      const nobody = await call(op.method, op.path, undefined, body);
      expect(nobody.status, `${op.route} without a key: ${nobody.text.slice(0, 200)}`).toBe(401);
      expect(nobody.body.error).toMatchObject({ code: 'api_key_required', kind: 'unauthenticated' });
      for (const held of ROLES) {
        const r = await call(op.method, op.path, keys[held], body);
        const label = `${op.route} as ${held} (route needs ${op.role}): ${r.status} ${r.text.slice(0, 200)}`;
        if (roleAllows(held, op.role as Role)) {
          // Let through the gate: answered by the route (not found, invalid input, or done), never refused for the role.
          expect([401, 403], label).not.toContain(r.status);
        } else {
          expect(r.status, label).toBe(403);
          expect(Object.keys(r.body.error).sort(), label).toEqual(['code', 'kind', 'message']);
          expect(r.body.error, label).toMatchObject({ code: 'role_required', kind: 'permission_denied' });
          expect(r.body.error.message, label).toContain(`needs the ${op.role as string} role`);
        }
      }
    }
    // The one change a viewer may ask of blobs gc is the listing.
    const gcDelete = await call('POST', '/api/v1/blobs/gc', keys.viewer, { delete: true });
    expect(gcDelete.status, gcDelete.text).toBe(403);
    expect(gcDelete.body.error.code).toBe('role_required');
  });

  it('refuses a viewer upload at its headers: the body is never read', async () => {
    // 64 MB that never arrives: the refusal must not wait for it.
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new Uint8Array(1024));
      },
    });
    const res = await fetch(`${server.server.admin.url}/firmware/big-1.0?keyCrc=1&signature=AAAA`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${keys.viewer}`, 'content-type': 'application/octet-stream', 'content-length': String(64 * 1024 * 1024) },
      body,
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    expect(res.status).toBe(403);
    expect(((await res.json()) as Json).error.code).toBe('role_required');
  });

  it('keeps secrets out of the audit log: API key secret, set token, issued token and private key, rotated credential', async () => {
    const op = keys.operator;
    const eui = 'FFFFFFFFFFFF0A01';
    expect((await call('POST', '/api/v1/stations', op, { eui, name: 'secret-test' })).status).toBe(201);
    const trust = await readFile(join(work, 'pki', 'ca.pem'), 'utf8');

    const created = await call('POST', '/api/v1/api-keys', keys.admin, { name: 'audited', role: 'viewer' });
    expect(created.status, created.text).toBe(201);
    secrets.push(created.body.secret);

    const token = `Authorization: Bearer tok-${'s3cr3t'.repeat(6)}`;
    const set = await call('PUT', `/api/v1/stations/${eui}/credentials`, op, { category: 'tc', trust, token });
    expect(set.status, set.text).toBe(200);
    secrets.push(token, token.split(' ').pop() as string);

    const issuedToken = await call('POST', `/api/v1/stations/${eui}/issue-token`, op, { for: 'cups', files: true });
    expect(issuedToken.status, issuedToken.text).toBe(200);
    for (const f of issuedToken.body.stationFiles as Json[]) secrets.push(...stationFileSecrets(f.key));

    const issuedCert = await call('POST', `/api/v1/stations/${eui}/issue-cert`, op, { for: 'both', files: true });
    expect(issuedCert.status, issuedCert.text).toBe(200);
    for (const f of issuedCert.body.stationFiles as Json[]) secrets.push(...stationFileSecrets(f.key));

    const rotated = await call('POST', `/api/v1/stations/${eui}/rotate`, op, { for: 'cups' });
    expect(rotated.status, rotated.text).toBe(200);
    // The rotated credential goes to the station only; read it where the server stored it.
    const station = await server.runtime.registry.getStation(eui);
    const ref = station?.desired.cupsCred;
    expect(ref).toBeTruthy();
    const blob = await server.runtime.blobs.get('stationcredentials', ref?.blob as string);
    const bytes = await buffer(blob?.stream as NodeJS.ReadableStream);
    // The end of the blob is the private key (or token): any 24 bytes of it must not be in the log.
    secrets.push(...windows(bytes.subarray(Math.max(0, bytes.length - 96))));

    const entries: Json[] = [];
    let cursor: string | null = null;
    do {
      const r: { status: number; body: Json } = await call('GET', `/api/v1/audit?limit=50${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, keys.viewer);
      expect(r.status).toBe(200);
      entries.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor !== null);
    const actions = entries.map((e) => e.action);
    for (const a of ['apikey.create', 'credential.set', 'credential.issue_token', 'credential.issue_cert', 'credential.rotate']) expect(actions).toContain(a);
    const everything = JSON.stringify(entries);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(everything).not.toContain('bsk_');
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      const shown = secret.startsWith('bsk_') ? (secret.split('.')[1] as string) : secret;
      expect(everything, `a secret in the audit log (${shown.slice(0, 6)}…)`).not.toContain(shown);
    }
  });
});

/** A station's key file (base64 of a PEM/DER key or token text) as the forms a log might hold it in. */
function stationFileSecrets(base64: string): string[] {
  const bytes = Buffer.from(base64, 'base64');
  const text = bytes.toString('utf8');
  const pemBody = text.includes('-----BEGIN') ? text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '') : '';
  return [base64, ...(pemBody === '' ? [] : [pemBody.slice(0, 40), pemBody.slice(-40)]), ...windows(bytes.subarray(Math.max(0, bytes.length - 96)))].filter((s) => s.length >= 16);
}

/** Hex and base64 of overlapping 24-byte windows of secret bytes. */
function windows(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i + 24 <= bytes.length; i += 12) {
    const w = bytes.subarray(i, i + 24);
    out.push(w.toString('hex'), w.toString('base64'));
  }
  return out;
}
