import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCa, issueServerCert, issueStationCert, issueStationToken, type IssuedCert, type IssuedToken } from '../src/pki/index.js';
import { buildCredentialBlob, credentialCrc, decodeResponse } from '../src/protocol/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { firmwareTarget } from './support/firmware-target.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';

const A = '0016C001FF10A235';
const B = '0016C001FF10A236';
const TA = '58A0CBFFFE800001';
const TB = '58A0CBFFFE800002';
const NONE = '58A0CBFFFE800003';
const UNREGISTERED = '58A0CBFFFE8000FF';
const FW_KEY_CRC = 1234;
const FIRMWARE = Buffer.from('#!/bin/sh\n# station B firmware, for B only\necho 2.0.0 > "$STATION_HOME/version.txt"\n');

let dir: string;
let ca: IssuedCert;
let certA: IssuedCert;
let certB: IssuedCert;
let tokenA: IssuedToken;
let tokenB: IssuedToken;
let blobB: Buffer;
let srv: TestServer;
/** EUIs the server asked the registry for with getStation, i.e. station data it read. */
const stationReads: string[] = [];

function recordingRegistry(registry: StationRegistry): StationRegistry {
  return new Proxy(registry, {
    get(target, prop) {
      if (prop === 'getStation') {
        return (eui: string) => {
          stationReads.push(eui);
          return target.getStation(eui);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-auth-'));
  ca = await createCa({ commonName: 'auth test CA' });
  const server = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'server.pem'), server.certPem);
  await writeFile(join(dir, 'server.key'), server.keyPem);
  await writeFile(join(dir, 'ca.pem'), ca.certPem);
  [certA, certB] = await Promise.all([issueStationCert(ca, { eui: A }), issueStationCert(ca, { eui: B })]);
  [tokenA, tokenB] = [issueStationToken(), issueStationToken()];

  srv = await startTestServer({
    allowUnauthenticated: false,
    tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), clientCa: join(dir, 'ca.pem') },
    wrapRegistry: recordingRegistry,
  });
  const { registry, blobs } = srv.runtime;
  const now = new Date();
  for (const eui of [A, B, TA, TB, NONE]) await registry.createStation({ eui });
  for (const [eui, cert] of [[A, certA], [B, certB]] as const) {
    await registry.setAuthMode(eui, 'mtls', now);
    await registry.addCertificate(eui, { fingerprint: cert.fingerprint256, category: 'cups', credCrc: 1, notAfter: cert.notAfter }, now);
  }
  for (const [eui, token] of [[TA, tokenA], [TB, tokenB]] as const) {
    await registry.setAuthMode(eui, 'token', now);
    await registry.addToken(eui, { id: `id-${eui}`, hash: token.hash, category: 'cups', credCrc: 2 }, now);
  }

  // Station B has a credential (with its private key) and a firmware waiting: what an impostor would want.
  blobB = buildCredentialBlob({ trust: ca.certDer, cert: certB.certDer, key: certB.keySec1Der });
  await blobs.put('stationcredentials', 'b-cups', blobB, { size: blobB.length });
  await registry.updateStation(B, { desired: { cupsCred: { blob: 'b-cups', crc: credentialCrc(blobB), size: blobB.length } } });
  await blobs.put('fwupgrades', 'b-fw', FIRMWARE, { size: FIRMWARE.length });
  await registry.setFirmwareTarget(B, firmwareTarget('b-fw', FIRMWARE, FW_KEY_CRC, now));
});

afterAll(async () => {
  await srv.stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stationReads.length = 0;
});

/** A request that would collect B's credential and firmware if it were let through. */
const asB = stationRequest(B, { keys: [FW_KEY_CRC] });

async function exchange(as: { cert?: IssuedCert; token?: IssuedToken }, request = asB) {
  return tlsExchange({
    port: srv.port,
    ca: ca.certPem,
    request,
    ...(as.cert === undefined ? {} : { cert: as.cert.certPem, key: as.cert.keyPem }),
    ...(as.token === undefined ? {} : { headerLines: `${as.token.headerLine}\r\n` }),
  });
}

async function lastAuthEvent(eui: string) {
  return (await srv.runtime.registry.listEvents(eui, { limit: 5 })).find((e) => e.type === 'auth');
}

describe('station authentication over real TLS sockets', () => {
  it('serves station B its own credential and firmware over mutual TLS, reading its data only then', async () => {
    const r = await exchange({ cert: certB });
    expect(r.status).toBe(200);
    const decoded = decodeResponse(r.body);
    expect(decoded.cupsCred).toEqual(blobB);
    expect(decoded.update).toEqual(FIRMWARE);
    expect(stationReads).toEqual([B]);
  });

  it('refuses station A\'s valid certificate asking as router B (403), without reading B or leaking anything', async () => {
    const r = await exchange({ cert: certA });
    expect(r.status).toBe(403);
    expect(r.body.toString()).toContain('certificate_for_other_station');
    expect(r.body.includes(blobB.subarray(-60))).toBe(false);
    expect(r.body.includes(FIRMWARE)).toBe(false);
    expect(stationReads).toEqual([]);
    const event = await lastAuthEvent(B);
    expect(event?.message).toContain('certificate_for_other_station');
    expect(event?.detail).toMatchObject({ fingerprint: certA.fingerprint256, certificateEui: A });
  });

  it('refuses a certificate from another CA, an expired one and none at all for an mtls station (401)', async () => {
    const otherCa = await createCa({ commonName: 'auth test CA' });
    const foreign = await issueStationCert(otherCa, { eui: B });
    const day = 86_400_000;
    const expired = await issueStationCert(ca, { eui: B, notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
    const results = await Promise.all([exchange({ cert: foreign }), exchange({ cert: expired }), exchange({})]);
    expect(results.map((r) => r.status)).toEqual([401, 401, 401]);
    // Without a certificate the answer is the one every credential-less request gets (see auth-refusals.test.ts).
    expect(results.map((r) => r.body.toString().split(':')[0])).toEqual(['certificate_untrusted', 'certificate_expired', 'credentials_required']);
    for (const r of results) expect(r.body.includes(FIRMWARE)).toBe(false);
    expect(stationReads).toEqual([]);
  });

  it('refuses a certificate signed by the CA for B that is not on B\'s certificate list', async () => {
    const unlisted = await issueStationCert(ca, { eui: B });
    const r = await exchange({ cert: unlisted });
    expect(r.status).toBe(401);
    expect(r.body.toString()).toMatch(/^certificate_not_allowed/);
    expect(stationReads).toEqual([]);
  });

  it('accepts a station\'s own token and refuses a wrong token (401) and another station\'s token (403)', async () => {
    const own = await exchange({ token: tokenA }, stationRequest(TA));
    expect(own.status).toBe(200);
    expect(stationReads).toEqual([TA]);
    stationReads.length = 0;

    const wrong = await exchange({ token: { ...tokenA, headerLine: 'Authorization: Bearer not-the-secret' } }, stationRequest(TA));
    const foreign = await exchange({ token: tokenB }, stationRequest(TA));
    const onMtls = await exchange({ token: tokenA }, asB);
    expect([wrong.status, foreign.status, onMtls.status]).toEqual([401, 403, 403]);
    expect(wrong.body.toString()).toMatch(/^token_invalid/);
    expect(foreign.body.toString()).toMatch(/^token_for_other_station/);
    expect(onMtls.body.toString()).toMatch(/^token_for_other_station/);
    expect(stationReads).toEqual([]);
    const event = await lastAuthEvent(TA);
    expect(event?.detail).toMatchObject({ code: 'token_for_other_station', tokenId: `id-${TB}` });
    // Neither the secret nor its hash is ever written down.
    const events = JSON.stringify(await srv.runtime.registry.listEvents(TA));
    for (const t of [tokenA, tokenB]) {
      expect(events).not.toContain(t.secret);
      expect(events).not.toContain(t.hash);
    }
  });

  it('refuses an unauthenticated request when --allow-unauthenticated is absent', async () => {
    const r = await exchange({}, stationRequest(NONE));
    expect(r.status).toBe(401);
    expect(r.body.toString()).toMatch(/^credentials_required/);
    expect(stationReads).toEqual([]);
  });

  it('answers 404 to an unregistered EUI with a valid certificate, and 401 without one, counting only the first as unknown', async () => {
    const newcomer = await issueStationCert(ca, { eui: UNREGISTERED });
    const known = await exchange({ cert: newcomer }, stationRequest(UNREGISTERED));
    expect(known.status).toBe(404);
    const anonymous = await exchange({}, stationRequest('58A0CBFFFE8000FE'));
    expect(anonymous.status).toBe(401);
    const unknown = await srv.runtime.registry.listUnknown();
    expect(unknown.map((u) => u.eui)).toEqual([UNREGISTERED]);
  });

  it('lets the simulator exchange over mutual TLS and with a token from its home files', async () => {
    const homeA = join(dir, 'sim-b');
    await initStationHome(homeA, { cupsUri: srv.url, cupsTrust: ca.certDer, cupsCrt: certB.certDer, cupsKey: certB.keySec1Der, version: '2.0.0' });
    const viaCert = await createSimulatedStation({ home: homeA, eui: B }).exchange();
    expect(viaCert.status).toBe(200);
    const homeT = join(dir, 'sim-ta');
    await initStationHome(homeT, { cupsUri: srv.url, cupsTrust: ca.certDer, cupsKey: Buffer.from(`${tokenA.headerLine}\r\n`) });
    const viaToken = await createSimulatedStation({ home: homeT, eui: TA }).exchange();
    expect(viaToken).toMatchObject({ status: 200, ok: true });
    const impostor = await createSimulatedStation({ home: homeT, eui: TB }).exchange();
    expect(impostor.status).toBe(403);
  });
});

describe('a plain-HTTP server without --allow-unauthenticated', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer({ allowUnauthenticated: false });
    const now = new Date();
    await plain.runtime.registry.createStation({ eui: TA });
    await plain.runtime.registry.setAuthMode(TA, 'token', now);
    await plain.runtime.registry.addToken(TA, { id: 'tok', hash: tokenA.hash, category: 'cups', credCrc: 2 }, now);
    await plain.runtime.registry.createStation({ eui: NONE });
  });
  afterAll(async () => plain.stop());

  const send = (eui: string, headerLines?: string) =>
    rawExchange(
      plain.port,
      encodeStationHttpRequest({ host: `127.0.0.1:${plain.port}`, body: encodeStationRequestBody(stationRequest(eui)), ...(headerLines ? { headerLines } : {}) }),
    );

  it('refuses a token sent in clear and a station without credentials', async () => {
    const token = await send(TA, `${tokenA.headerLine}\r\n`);
    expect(token.status).toBe(401);
    expect(token.body.toString()).toMatch(/^tls_required/);
    const none = await send(NONE);
    expect(none.status).toBe(401);
    expect(none.body.toString()).toMatch(/^credentials_required/);
  });
});
