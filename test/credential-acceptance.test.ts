import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { isCupsError } from '../src/core/errors.js';
import { localActor, type OperationContext } from '../src/operations/context.js';
import { setStationCredential } from '../src/operations/station-credentials.js';
import { createCa, issueServerCert, issueStationCert, issueStationToken, type IssuedCert } from '../src/pki/index.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { adminClient } from './support/admin-client.js';
import { bscupsInProcess } from './support/cli-in-process.js';
import { startTestServer } from './support/server.js';

const EUI = '0016C001FF10B001';
const OTHER = '0016C001FF10B002';

let work: string;
let pkiDir: string;
let ca: IssuedCert;
let rt: Runtime;
let ctx: OperationContext;
let env: Record<string, string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-cred-accept-'));
  pkiDir = join(work, 'pki');
  // The PKI folder as "bscups pki init" writes it: the station CA and the server certificate it issued.
  ca = await createCa();
  const server = await issueServerCert(ca, { names: ['127.0.0.1'] });
  await mkdir(pkiDir, { recursive: true });
  await writeFile(join(pkiDir, 'ca.pem'), ca.certPem);
  await writeFile(join(pkiDir, 'server.pem'), server.certPem);
  env = { BSCUPS_DATABASE: join(work, 'registry.sqlite'), BSCUPS_BLOBS: join(work, 'blobs') };
  rt = await openRuntime(loadConfig({ database: env.BSCUPS_DATABASE, blobs: env.BSCUPS_BLOBS }, {}));
  ctx = { registry: rt.registry, fleet: rt.fleet, access: rt.access, blobs: rt.blobs, clock: () => new Date(), actor: localActor() };
  await rt.registry.createStation({ eui: EUI });
  await rt.registry.createStation({ eui: OTHER });
});
afterAll(async () => {
  await rt.close();
  await rm(work, { recursive: true, force: true });
});

/** The error a set refused with: its code and message. */
async function refusal(input: Parameters<typeof setStationCredential>[1]): Promise<{ code: string; kind: string; message: string }> {
  try {
    await setStationCredential(ctx, input, { pkiDir });
  } catch (e) {
    if (!isCupsError(e)) throw e;
    return { code: e.code, kind: e.kind, message: e.message };
  }
  throw new Error('the credential was accepted');
}

describe('station credentials --cups refuses what this server would refuse', () => {
  it('a self-signed client certificate, even one naming the station', async () => {
    const self = await createCa({ commonName: EUI });
    const before = (await rt.registry.getStation(EUI))?.desired.cupsCred ?? null;
    const r = await refusal({ eui: EUI, category: 'cups', trust: ca.certDer, cert: self.certDer, key: self.keySec1Der });
    expect(r).toMatchObject({ code: 'certificate_not_from_station_ca', kind: 'invalid_argument' });
    expect(r.message).toMatch(/self-signed/);
    expect(r.message).toMatch(/--force/);
    // Nothing was set or accepted.
    expect((await rt.registry.getStation(EUI))?.desired.cupsCred ?? null).toEqual(before);
    expect((await rt.registry.getStationAuth(EUI))?.certificates).toEqual([]);
  });

  it("another station's certificate from the station CA", async () => {
    const others = await issueStationCert(ca, { eui: OTHER });
    const r = await refusal({ eui: EUI, category: 'cups', trust: ca.certDer, cert: others.certDer, key: others.keySec1Der });
    expect(r).toMatchObject({ code: 'certificate_for_other_station', kind: 'invalid_argument' });
    expect(r.message).toContain(OTHER);
  });

  it('a certificate from another CA', async () => {
    const foreign = await createCa({ commonName: 'some other CA' });
    const cert = await issueStationCert(foreign, { eui: EUI });
    const r = await refusal({ eui: EUI, category: 'cups', trust: ca.certDer, cert: cert.certDer, key: cert.keySec1Der });
    expect(r.code).toBe('certificate_not_from_station_ca');
    expect(r.message).toMatch(/some other CA/);
  });

  it("a trust that does not verify this server's certificate, with a token or a certificate", async () => {
    const foreign = await createCa({ commonName: 'an LNS CA' });
    const token = issueStationToken();
    const r = await refusal({ eui: EUI, category: 'cups', trust: foreign.certDer, token: token.headerLine });
    expect(r).toMatchObject({ code: 'trust_does_not_verify_server', kind: 'invalid_argument' });
    expect(r.message).toMatch(/an LNS CA/);
    const good = await issueStationCert(ca, { eui: EUI });
    expect((await refusal({ eui: EUI, category: 'cups', trust: foreign.certDer, cert: good.certDer, key: good.keySec1Der })).code).toBe('trust_does_not_verify_server');
  });

  it('accepts a station CA certificate for the station with the CA as trust; the TC credential is not checked against this server', async () => {
    const good = await issueStationCert(ca, { eui: EUI });
    const set = await setStationCredential(ctx, { eui: EUI, category: 'cups', trust: ca.certDer, cert: good.certDer, key: good.keySec1Der }, { pkiDir });
    expect(set.accepted).toBe(`certificate ${good.fingerprint256}`);
    const lns = await createCa({ commonName: 'an LNS CA' });
    await setStationCredential(ctx, { eui: EUI, category: 'tc', trust: lns.certDer, token: 'Authorization: Bearer tc' }, { pkiDir });
  });

  it('sets any of them with force, and the audit row says it was forced', async () => {
    const self = await createCa({ commonName: OTHER });
    const set = await setStationCredential(ctx, { eui: OTHER, category: 'cups', trust: self.certDer, cert: self.certDer, key: self.keySec1Der }, { pkiDir, force: true });
    expect(set.mode).toBe('mutual TLS');
    const rows = await rt.access.queryAudit({ action: 'credential.set', target: OTHER, limit: 5 });
    expect(rows.items[0]?.detail).toMatchObject({ force: true });
  });

  it('the CLI refuses the same way (exit 2, the code in --json) and sets it with --force', async () => {
    const self = await createCa({ commonName: EUI });
    await writeFile(join(work, 'self.pem'), self.certPem);
    await writeFile(join(work, 'self.key'), self.keyPem);
    const args = ['station', 'credentials', EUI, '--cups', '--trust', join(pkiDir, 'ca.pem'), '--cert', join(work, 'self.pem'), '--key', join(work, 'self.key'), '--pki-dir', pkiDir];
    const refused = await bscupsInProcess(['--json', ...args], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/certificate_not_from_station_ca/);
    const forced = await bscupsInProcess(['--json', ...args, '--force'], env);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ eui: EUI, mode: 'mutual TLS' });
  });
});

describe('PUT /api/v1/stations/:eui/credentials (the same rule, through the API)', () => {
  it('refuses a self-signed CUPS certificate with 400 and its code, and sets it with "force": true', async () => {
    const srv = await startTestServer({ serve: { pkiDir } });
    try {
      const call = adminClient(srv.server.admin.url.replace(/\/api\/v1$/, ''));
      const key = srv.server.admin.firstAdminKey as string;
      expect((await call('POST', '/api/v1/stations', key, { eui: EUI })).status).toBe(201);
      const self = await createCa({ commonName: EUI });
      const body = { category: 'cups', trust: ca.certPem, cert: self.certPem, key: self.keyPem };
      const refused = await call('PUT', `/api/v1/stations/${EUI}/credentials`, key, body);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.text).toMatch(/certificate_not_from_station_ca/);
      expect((await srv.runtime.registry.getStation(EUI))?.desired.cupsCred).toBeNull();
      const forced = await call('PUT', `/api/v1/stations/${EUI}/credentials`, key, { ...body, force: true });
      expect(forced.status, forced.text).toBe(200);
      expect(forced.body).toMatchObject({ mode: 'mutual TLS' });
    } finally {
      await srv.stop();
    }
  });
});
