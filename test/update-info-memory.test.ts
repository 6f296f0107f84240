import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCa, issueServerCert, issueStationCert, issueStationToken, type IssuedCert, type IssuedToken } from '../src/pki/index.js';
import { decodeResponse, NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { createRegistry, hasRegistryPeek } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';

const MTLS = '0016C001FF10B001';
const TOKEN = '0016C001FF10B002';
const NONE = '0016C001FF10B003';
const TC_URI = 'wss://lns.example.com:8887';
/** The synchronous cache reads the poll may make; anything else on the registry is a database read or write. */
const IN_MEMORY = new Set(['peekStation', 'peekStationAuth', 'peekToken', 'stampSeen', 'peekLastSeen', 'cacheState']);

/** Registry calls the server made, by method name. */
const calls: string[] = [];
const lines: Record<string, unknown>[] = [];
let dir: string;
let ca: IssuedCert;
let cert: IssuedCert;
let token: IssuedToken;
let srv: TestServer;

function countingRegistry(registry: StationRegistry): StationRegistry {
  return new Proxy(registry, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-memory-'));
  ca = await createCa({ commonName: 'memory test CA' });
  const server = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'server.pem'), server.certPem);
  await writeFile(join(dir, 'server.key'), server.keyPem);
  await writeFile(join(dir, 'ca.pem'), ca.certPem);
  cert = await issueStationCert(ca, { eui: MTLS });
  token = issueStationToken();
  const logs = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  srv = await startTestServer({
    tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), clientCa: join(dir, 'ca.pem') },
    wrapRegistry: countingRegistry,
    logger: pino({ level: 'debug' }, logs),
  });
  const { registry } = srv.runtime;
  const now = new Date();
  for (const eui of [MTLS, TOKEN, NONE]) await registry.createStation({ eui, desired: { tcUri: TC_URI } });
  await registry.setAuthMode(MTLS, 'mtls', now);
  await registry.addCertificate(MTLS, { fingerprint: cert.fingerprint256, category: 'cups', credCrc: 1, notAfter: cert.notAfter }, now);
  await registry.setAuthMode(TOKEN, 'token', now);
  await registry.addToken(TOKEN, { id: 'memory-token', hash: token.hash, category: 'cups', credCrc: 2 }, now);
});
afterAll(async () => {
  await srv.stop();
  await rm(dir, { recursive: true, force: true });
});

const credentials: Record<string, { cert?: string; key?: string; headerLines?: string }> = {
  [MTLS]: {},
  [TOKEN]: {},
  [NONE]: {},
};
beforeEach(() => {
  credentials[MTLS] = { cert: cert.certPem, key: cert.keyPem };
  credentials[TOKEN] = { headerLines: `${token.headerLine}\r\n` };
});

/** One poll of `eui` over TLS with its credential, reporting the TC URI it was given. */
function poll(eui: string) {
  return tlsExchange({ port: srv.port, ca: ca.certPem, ...credentials[eui], request: stationRequest(eui, { tcUri: TC_URI }) });
}

/**
 * Polls until the station's twin (with its first report) is back in the cache and its
 * health steady: polls this close together are early calls, so the second makes it
 * lns_failing (written), and from then on nothing moves (core/health.ts). The change
 * feed hears the server's own last write a moment later and drops the twin once more,
 * so the cache may read it again at the next poll: settled once a poll needed no read.
 */
async function settle(eui: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    calls.length = 0;
    expect((await poll(eui)).status).toBe(200);
    if (i >= 3 && calls.every((c) => IN_MEMORY.has(c))) return;
  }
  throw new Error(`station ${eui} was still read from the registry after 10 polls: ${calls.join(', ')}`);
}

async function okCount(): Promise<number> {
  const text = (await srv.server.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/bscups_update_info_requests_total\{outcome="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe('the up-to-date poll from memory', () => {
  it.each([
    ['mtls', MTLS],
    ['token', TOKEN],
    ['none', NONE],
  ])('%s: answers 14 zero bytes without one registry read or write, counts it, logs it at debug and buffers its last-seen', async (_mode, eui) => {
    expect(hasRegistryPeek(srv.runtime.registry) && srv.runtime.registry.cacheState().live).toBe(true);
    await settle(eui);
    calls.length = 0;
    const linesBefore = lines.length;
    const okBefore = await okCount();
    const before = Date.now();

    for (let i = 0; i < 3; i++) {
      const r = await poll(eui);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(NOTHING_TO_CHANGE);
    }

    expect(calls.filter((c) => !IN_MEMORY.has(c))).toEqual([]);
    expect(await okCount()).toBe(okBefore + 3);
    const mine = lines.slice(linesBefore).filter((l) => l.eui === eui);
    expect(mine).toHaveLength(3);
    for (const l of mine) expect(l).toMatchObject({ level: 20, status: 200, msg: 'update-info: up to date' });
    const seen = (await srv.runtime.registry.getStation(eui))?.lastSeenAt;
    expect(seen?.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('reads the database again once another process changed the station, and sends the change', async () => {
    await settle(NONE);
    const other = await createRegistry(srv.config.database);
    try {
      await other.updateStation(NONE, { desired: { tcUri: 'wss://lns2.example.com:8887' } });
    } finally {
      await other.close();
    }
    calls.length = 0;
    const r = await poll(NONE);
    expect(r.status).toBe(200);
    expect(decodeResponse(r.body).tcUri).toBe('wss://lns2.example.com:8887');
    expect(calls).toContain('getStation');
  });

  it('reads the database for a token the cache does not hold, and refuses an unknown one as before', async () => {
    calls.length = 0;
    credentials[TOKEN] = { headerLines: `${issueStationToken().headerLine}\r\n` };
    const r = await poll(TOKEN);
    expect(r.status).toBe(401);
    expect(calls).toContain('findToken');
    expect(calls).toContain('recordRefusal');
  });
});
