import { randomBytes } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponse, encodeStationRequestBody } from '../src/protocol/index.js';
import { adminClient, type Json } from './support/admin-client.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { firmwareTarget } from './support/firmware-target.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

// The server policy (--rollouts-need-approval, --max-concurrent-downloads) through the
// admin API, the CLI (in process, --server and direct) and the station port of one server.
let srv: TestServer;
let call: ReturnType<typeof adminClient>;
const keys: Record<'a' | 'b' | 'viewer', { secret: string; id: string }> = {} as never;
const KEY_CRC = 3157685580;
/** Large enough that a station not reading keeps its download in flight. */
const UPDATE = randomBytes(16 * 1024 * 1024);

beforeAll(async () => {
  srv = await startTestServer({ config: { rolloutsNeedApproval: true, maxConcurrentDownloads: 1, rolloutInterval: 3600 } });
  call = adminClient(srv.server.admin.url.replace(/\/api\/v1$/, ''));
  const first = srv.server.admin.firstAdminKey as string;
  for (const [k, role] of [['a', 'operator'], ['b', 'operator'], ['viewer', 'viewer']] as const) {
    const r = await call('POST', '/api/v1/api-keys', first, { name: `ops-${k}`, role });
    keys[k] = { secret: r.body.secret, id: r.body.key.id };
  }
  for (let i = 1; i <= 2; i++) {
    const r = await call('POST', '/api/v1/stations', keys.a.secret, { eui: `00000000000BA00${i}`, labels: { ring: 'approval' } });
    expect(r.status, r.text).toBe(201);
    await srv.runtime.registry.touchStation(`00000000000BA00${i}`, { at: new Date(), remoteAddress: null });
  }
}, 60_000);
afterAll(async () => srv?.stop());

describe('rollout approval through the admin API and the CLI', () => {
  let id = '';
  it('the server policy makes a rollout wait; its creator cannot approve it, another operator can', async () => {
    const created = await call('POST', '/api/v1/rollouts', keys.a.secret, { tcUri: 'ws://127.0.0.1:7400', label: ['ring=approval'], maxOffersPerMinute: 30 });
    expect(created.status, created.text).toBe(201);
    id = created.body.id;
    expect(created.body).toMatchObject({
      state: 'waiting_for_approval',
      stateText: 'waiting for approval by an operator other than its creator',
      createdByKeyId: keys.a.id,
      approval: null,
      pacing: { maxOffersPerMinute: 30, maxConcurrentDownloads: 1, downloadsInFlight: 0 },
    });
    const own = await call('POST', `/api/v1/rollouts/${id}/approve`, keys.a.secret);
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('approval_by_creator');
    expect((await call('POST', `/api/v1/rollouts/${id}/approve`, keys.viewer.secret)).status).toBe(403);

    const other = await bscupsJson<Json>(['--server', srv.server.admin.url.replace(/\/api\/v1$/, ''), '--api-key', keys.b.secret, 'rollout', 'approve', id]);
    expect(other).toMatchObject({ state: 'running', approval: { decision: 'approved', by: 'ops-b' } });
    const again = await call('POST', `/api/v1/rollouts/${id}/deny`, keys.b.secret);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('rollout_not_waiting');
    const audit = await call('GET', `/api/v1/audit?action=rollout.approve&target=${id}`, srv.server.admin.firstAdminKey as string);
    expect(JSON.stringify(audit.body)).toContain('ops-b');
  });

  it('retry refuses with a clear error when nothing failed, through the CLI too', async () => {
    const r = await call('POST', `/api/v1/rollouts/${id}/retry`, keys.b.secret, {});
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('nothing_to_retry');
    const cli = await bscupsInProcess(['--server', srv.server.admin.url.replace(/\/api\/v1$/, ''), '--api-key', keys.b.secret, 'rollout', 'retry', id]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('no failed member');
  });

  it('rollout show prints the state in words and both paces', async () => {
    const shown = await bscupsInProcess(['--server', srv.server.admin.url.replace(/\/api\/v1$/, ''), '--api-key', keys.viewer.secret, 'rollout', 'show', id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('approved by ops-b');
    expect(shown.stdout).toContain('at most 30 offer(s) per minute; server streams at most 1 firmware download(s) at once (0 now)');
  });

  it('directly on the database, the same operating-system user cannot approve its own rollout', async () => {
    await call('POST', `/api/v1/rollouts/${id}/abort`, keys.a.secret);
    const env = { ...srv.env, BSCUPS_ROLLOUTS_NEED_APPROVAL: 'true' };
    const created = await bscupsJson<Json>(['rollout', 'create', '--tc-uri', 'ws://127.0.0.1:7401', '--label', 'ring=approval'], env);
    expect(created.state).toBe('waiting_for_approval');
    expect(created.pacing).toEqual({ maxOffersPerMinute: null, maxConcurrentDownloads: null, downloadsInFlight: null });
    const own = await bscupsInProcess(['rollout', 'approve', created.id], env);
    expect(own.code).not.toBe(0);
    expect(own.stderr).toContain('another operator');
    // Another identity (a key) decides it.
    expect((await call('POST', `/api/v1/rollouts/${created.id}/deny`, keys.b.secret)).body).toMatchObject({ state: 'aborted', stateText: expect.stringContaining('denied by ops-b') });
  });

  it('the OpenAPI document has the new routes and fields', async () => {
    const doc = await call('GET', '/api/v1/openapi.json');
    const text = JSON.stringify(doc.body);
    for (const path of ['/rollouts/{id}/approve', '/rollouts/{id}/deny', '/rollouts/{id}/retry']) expect(text).toContain(path);
    for (const field of ['requireApproval', 'pauseAfterWave', 'maxOffersPerMinute', 'stateText', 'downloadsInFlight']) expect(text).toContain(field);
  });
});

/** Starts an update-info exchange and resolves with the response as soon as its head is in, unread. */
function exchange(eui: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const body = encodeStationRequestBody(stationRequest(eui, { keys: [KEY_CRC], package: '1.0.0' }));
    const req = request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/update-info', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => resolve({ req, res }));
    req.on('error', reject);
    req.end(body);
  });
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('--max-concurrent-downloads', () => {
  it('a station over the cap gets its other changes with a 200 and the firmware at a later call', async () => {
    await srv.runtime.blobs.put('fwupgrades', 'fw-cap', UPDATE, { size: UPDATE.length });
    for (const eui of ['00000000000CA001', '00000000000CA002']) {
      await srv.runtime.registry.createStation({ eui, desired: { tcUri: 'ws://127.0.0.1:7500' } });
      await srv.runtime.registry.setFirmwareTarget(eui, firmwareTarget('fw-cap', UPDATE, KEY_CRC));
    }
    // The first station's download stays in flight: it reads nothing.
    const first = await exchange('00000000000CA001');
    expect(first.res.statusCode).toBe(200);
    first.res.pause();
    expect(Number(first.res.headers['content-length'])).toBeGreaterThan(UPDATE.length);

    const second = await exchange('00000000000CA002');
    expect(second.res.statusCode).toBe(200);
    const answer = decodeResponse(await readAll(second.res));
    expect(answer.tcUri).toBe('ws://127.0.0.1:7500');
    expect(answer.update).toBeNull();
    const events = await srv.runtime.registry.listEvents('00000000000CA002', { limit: 20 });
    expect(JSON.stringify(events)).toContain('firmware_deferred');
    const station = await srv.runtime.registry.getStation('00000000000CA002');
    expect(station?.problem ?? null).toBeNull();
    expect(station?.firmware?.offers).toBe(0);

    // The first station hangs up: its slot is free, and the second gets the firmware at its next call.
    first.req.destroy();
    await new Promise<void>((resolve) => first.res.once('close', () => resolve()));
    let got = 0;
    for (let attempt = 0; attempt < 50 && got === 0; attempt++) {
      const next = await exchange('00000000000CA002');
      got = decodeResponse(await readAll(next.res)).update?.length ?? 0;
      if (got === 0) await new Promise((r) => setImmediate(r));
    }
    expect(got).toBe(UPDATE.length);
  }, 30_000);
});
