import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCert, issueStationToken, type IssuedCert, type IssuedToken } from '../src/pki/index.js';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { bscupsInProcess } from './support/cli-in-process.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';

const MTLS = '58A0CBFFFE810001';
const TOKEN = '58A0CBFFFE810002';
const NONE = '58A0CBFFFE810003';
const UNREGISTERED = '58A0CBFFFE8100FF';

let dir: string;
let ca: IssuedCert;
let token: IssuedToken;
let tls: TestServer;
let plain: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-refusals-'));
  ca = await createCa({ commonName: 'refusals test CA' });
  const server = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'server.pem'), server.certPem);
  await writeFile(join(dir, 'server.key'), server.keyPem);
  await writeFile(join(dir, 'ca.pem'), ca.certPem);
  token = issueStationToken();
  // Two servers on one registry: the same fleet reached over https and over plain http.
  const database = join(dir, 'registry.sqlite');
  tls = await startTestServer({
    database,
    allowUnauthenticated: false,
    tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), clientCa: join(dir, 'ca.pem') },
  });
  plain = await startTestServer({ database, allowUnauthenticated: false });
  const { registry } = tls.runtime;
  const now = new Date();
  for (const eui of [MTLS, TOKEN, NONE]) await registry.createStation({ eui });
  await registry.setAuthMode(MTLS, 'mtls', now);
  await registry.setAuthMode(TOKEN, 'token', now);
  await registry.addToken(TOKEN, { id: 'tok-1', hash: token.hash, category: 'cups', credCrc: 2 }, now);
});

afterAll(async () => {
  await plain.stop();
  await tls.stop();
  await rm(dir, { recursive: true, force: true });
});

const overTls = (eui: string, headerLines?: string) =>
  tlsExchange({ port: tls.port, ca: ca.certPem, request: stationRequest(eui), ...(headerLines === undefined ? {} : { headerLines }) });
const overPlain = (eui: string, headerLines?: string) =>
  rawExchange(
    plain.port,
    encodeStationHttpRequest({ host: `127.0.0.1:${plain.port}`, body: encodeStationRequestBody(stationRequest(eui)), ...(headerLines === undefined ? {} : { headerLines }) }),
  );

describe('refusals without credentials', () => {
  it('answers an unregistered EUI and every registered one with the same status and text, over https and plain http', async () => {
    const answers: string[] = [];
    for (const eui of [UNREGISTERED, MTLS, TOKEN, NONE]) {
      const viaTls = await overTls(eui);
      const viaPlain = await overPlain(eui);
      answers.push(`${viaTls.status} ${viaTls.body.toString()}`, `${viaPlain.status} ${viaPlain.body.toString()}`);
    }
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/^401 credentials_required: /);
    expect(answers[0]).not.toContain('58A0CBFFFE81');
  });

  it('keeps the real reason in the station refusal row, counted per reason and source', async () => {
    const before = (await tls.runtime.registry.listEvents(MTLS)).find((e) => e.detail?.code === 'client_certificate_required')?.count ?? 0;
    await overTls(MTLS);
    await overTls(MTLS);
    const rows = (await tls.runtime.registry.listEvents(MTLS)).filter((e) => e.count !== undefined);
    expect(rows.find((e) => e.detail?.code === 'client_certificate_required')).toMatchObject({ count: before + 2, detail: { remoteAddress: '127.0.0.1' } });
    expect(rows.find((e) => e.detail?.code === 'tls_required')).toBeDefined();
  });
});

describe('a flood of refused requests', () => {
  // 10,000 refusals per database are in registry-events-conformance; this proves the server writes them that way.
  it('leaves a bounded number of rows after 2,000 refused requests, and the station history readable', async () => {
    const { registry } = plain.runtime;
    await registry.appendEvents(NONE, [{ type: 'config', message: 'operator set the TC URI' }], new Date());
    const before = (await registry.listEvents(NONE)).length;
    const pool = new Pool(plain.url, { connections: 8, pipelining: 1 });
    const body = encodeStationRequestBody(stationRequest(NONE));
    const statuses = new Map<number, number>();
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < 2_000) {
            next++;
            const r = await pool.request({ path: '/update-info', method: 'POST', body, headers: { 'content-type': 'application/json' } });
            await r.body.dump();
            statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          }
        }),
      );
    } finally {
      await pool.close();
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 2_000 });
    const events = await registry.listEvents(NONE);
    expect(events.length).toBeLessThanOrEqual(before + 1);
    const refusal = events.find((e) => e.detail?.code === 'credentials_required');
    expect(refusal?.count).toBeGreaterThanOrEqual(2_000);
    expect(events.some((e) => e.message === 'operator set the TC URI')).toBe(true);
  });
});

describe('a stranger probing from many addresses', () => {
  it('cannot bury the refusal history: after 1,000 refusals, 250 wrong tokens from 250 addresses keep the total and the per-reason counts', { timeout: 120_000 }, async () => {
    const { registry } = tls.runtime;
    const counts = async () => {
      const rows = (await registry.listEvents(TOKEN)).filter((e) => e.count !== undefined);
      const per: Record<string, number> = {};
      for (const e of rows) per[String(e.detail?.code)] = (per[String(e.detail?.code)] ?? 0) + (e.count ?? 0);
      return { rows: rows.length, per };
    };
    const before = await counts();
    // 1,000 earlier refusals of the station's own address (recorded as the server records them).
    for (let i = 0; i < 1_000; i++) await registry.recordRefusal(TOKEN, { code: 'token_invalid', source: '127.0.0.1', message: 'refused' }, new Date());
    // 250 wrong tokens from 250 addresses, over real TLS sockets.
    const wrong = 'Authorization: Bearer bst_wrongwrongwrongwrongwrongwrongwrongwrong\r\n';
    for (let i = 0; i < 250; i++) {
      const r = await tlsExchange({ port: tls.port, ca: ca.certPem, request: stationRequest(TOKEN), headerLines: wrong, localAddress: `127.0.${1 + (i >> 8)}.${(i & 255) + 1}` });
      expect(r.status).toBe(401);
    }
    const after = await counts();
    const added = Object.fromEntries(Object.entries(after.per).map(([code, n]) => [code, n - (before.per[code] ?? 0)]));
    expect(added['token_invalid']).toBe(1_250);
    expect(Object.values(added).reduce((a, b) => a + b, 0)).toBe(1_250);
    // Still bounded: the newest sources plus one "other sources" row per reason.
    expect(after.rows).toBeLessThanOrEqual(100 + Object.keys(after.per).length);
  });
});

describe('a token sent over plain http', () => {
  it('is refused, marked compromised once with an event, stays valid over https, and shows in station auth', async () => {
    const header = `${token.headerLine}\r\n`;
    const first = await overPlain(TOKEN, header);
    expect(first.status).toBe(401);
    expect(first.body.toString()).toMatch(/^tls_required/);
    await overPlain(TOKEN, header);

    const auth = await tls.runtime.registry.getStationAuth(TOKEN);
    expect(auth?.tokens[0]).toMatchObject({ id: 'tok-1', status: 'active', compromisedReason: 'sent over plain HTTP from 127.0.0.1' });
    const exposed = (await tls.runtime.registry.listEvents(TOKEN)).filter((e) => e.detail?.code === 'token_compromised');
    expect(exposed).toHaveLength(1);

    // Retiring it would lock the station out: it still opens the door over https.
    expect((await overTls(TOKEN, header)).status).toBe(200);

    const shown = await bscupsInProcess(['station', 'auth', TOKEN], tls.env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('COMPROMISED');
    expect(shown.stdout).toMatch(/lock the station out/);
    expect(shown.stdout).toContain(`bscups station rotate ${TOKEN}`);
  });
});
