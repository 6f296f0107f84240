import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome, readStationHome } from './index.js';

// ---------- fixtures: a fixed-bytes server and response bodies built by hand from PROTOCOL.md section 2 ----------

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface FixedServer {
  readonly port: number;
  readonly url: string;
  /** Raw request bytes, one entry per connection. */
  readonly raw: Buffer[];
  readonly headers: IncomingHttpHeaders[];
  readonly peerCns: string[];
  handler: Handler;
  close(): Promise<void>;
}

async function startServer(tls?: ServerOptions): Promise<FixedServer> {
  const state: FixedServer = {
    port: 0,
    url: '',
    raw: [],
    headers: [],
    peerCns: [],
    handler: (_req, res) => answer(res, Buffer.alloc(14)),
    close: async () => {},
  };
  const onRequest: Handler = (req, res) => {
    state.headers.push(req.headers);
    const peer = tls ? (req.socket as TLSSocket).getPeerCertificate() : undefined;
    if (peer?.subject) state.peerCns.push(String(peer.subject.CN));
    req.resume();
    req.on('end', () => state.handler(req, res));
  };
  const server: Server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    const i = state.raw.push(Buffer.alloc(0)) - 1;
    socket.on('data', (chunk: Buffer) => {
      state.raw[i] = Buffer.concat([state.raw[i] as Buffer, chunk]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    port,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** A correct answer: explicit Content-Length, as PROTOCOL 2 requires. */
function answer(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
  res.end(body);
}

const u8 = (n: number): Buffer => Buffer.from([n]);
function le(n: number, size: 2 | 4): Buffer {
  const b = Buffer.alloc(size);
  b.writeUIntLE(n, 0, size);
  return b;
}

function responseBody(p: { cupsUri?: string; tcUri?: string; cupsCred?: Buffer; tcCred?: Buffer; sig?: { keyCrc: number; der: Buffer }; update?: Buffer }): Buffer {
  const cupsUri = Buffer.from(p.cupsUri ?? '', 'ascii');
  const tcUri = Buffer.from(p.tcUri ?? '', 'ascii');
  const cupsCred = p.cupsCred ?? Buffer.alloc(0);
  const tcCred = p.tcCred ?? Buffer.alloc(0);
  const update = p.update ?? Buffer.alloc(0);
  // sigLen counts the 4 keyCRC bytes (PROTOCOL 2.6).
  const sig = p.sig ? Buffer.concat([le(4 + p.sig.der.length, 4), le(p.sig.keyCrc, 4), p.sig.der]) : le(0, 4);
  return Buffer.concat([u8(cupsUri.length), cupsUri, u8(tcUri.length), tcUri, le(cupsCred.length, 2), cupsCred, le(tcCred.length, 2), tcCred, sig, le(update.length, 4), update]);
}

const ZERO4 = Buffer.alloc(4);
const EUI = '0016C001FF10A235';
const STATION = '2.0.6(linux/testsim) 2026-11-24 10:58:03';

interface Pki {
  caDer: Buffer;
  caPem: string;
  serverKey: string;
  serverCert: string;
  clientCertDer: Buffer;
  clientKeyDer: Buffer;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate with a SEC1 key, made with openssl. */
function makePki(dir: string): Pki {
  const ossl = (...args: string[]): void => {
    execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  ossl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  ossl('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=test-ca', '-days', '2', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=keyCertSign');
  for (const [name, cn, ext] of [
    // Station 2.0.6 compares only DNS entries with the host, even an IP address (PROTOCOL.md 7).
    ['server', '127.0.0.1', 'subjectAltName=DNS:127.0.0.1,IP:127.0.0.1'],
    ['client', 'station-0016C001FF10A235', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ossl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    ossl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    execFileSync('/bin/sh', ['-c', `printf '%s\\n' '${ext}' > ${name}.ext`], { cwd: dir });
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
  ossl('x509', '-in', 'ca.pem', '-outform', 'DER', '-out', 'ca.der');
  ossl('x509', '-in', 'client.pem', '-outform', 'DER', '-out', 'client.der');
  ossl('ec', '-in', 'client.key', '-outform', 'DER', '-out', 'client.key.der');
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return {
    caDer: read('ca.der'),
    caPem: read('ca.pem').toString(),
    serverKey: read('server.key').toString(),
    serverCert: read('server.pem').toString(),
    clientCertDer: read('client.der'),
    clientKeyDer: read('client.key.der'),
  };
}

let work: string;
let home: string;
let pki: Pki;
let server: FixedServer;
let logs: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-sim-'));
  pki = makePki(work);
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  home = await mkdtemp(join(work, 'home-'));
  server.raw.length = 0;
  server.headers.length = 0;
  server.handler = (_req, res) => answer(res, Buffer.alloc(14));
  logs = [];
});

function station(opts: { timeoutMs?: number; log?: (line: string) => void } = {}) {
  return createSimulatedStation({ home, eui: EUI, stationVersion: STATION, log: (l) => logs.push(l), ...opts });
}

// ---------- tests ----------

describe('fixtures', () => {
  it('build the golden URI-only body of PROTOCOL 2.3', () => {
    expect(responseBody({ cupsUri: 'http://127.0.0.1:6091', tcUri: 'ws://127.0.0.1:6092' }).toString('hex')).toBe(
      '15687474703a2f2f3132372e302e302e313a363039311377733a2f2f3132372e302e302e313a36303932000000000000000000000000',
    );
  });
});

describe('request', () => {
  it('sends exactly the station bytes: padded Content-Length, three headers, router as ID6', async () => {
    const sigKey = Buffer.alloc(64, 0x5a);
    await initStationHome(home, { cupsUri: server.url, version: '1.0.0\n', sigKeys: [sigKey] });
    const result = await station().exchange();

    const json =
      `{"router":"16:c001:ff10:a235","cupsUri":"${server.url}","tcUri":null,"cupsCredCrc":2077607535,"tcCredCrc":2077607535,` +
      `"station":"${STATION}","model":"linux","package":"1.0.0","keys":[${crc32(sigKey) >>> 0}]}`;
    const expected = `POST /update-info HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: ${String(json.length).padStart(5)}\r\n\r\n${json}`;
    expect(server.raw).toHaveLength(1);
    expect(server.raw[0]?.toString('latin1')).toBe(expected);
    expect(Object.keys(server.headers[0] ?? {}).sort()).toEqual(['content-length', 'content-type', 'host']);
    expect(result).toMatchObject({ status: 200, ok: true, nothingToChange: true, applied: [] });
    expect(result.request.router).toBe(EUI);
  });
});

describe('applying a response', () => {
  it('writes URIs and credentials so that the next request reports the new URIs and crc32(blob)', async () => {
    await initStationHome(home, { cupsUri: `http://127.0.0.1:${server.port}` });
    const second = await startServer();
    const cupsBlob = Buffer.concat([pki.caDer, ZERO4, ZERO4]);
    const token = 'Authorization: Bearer tctok\r\n';
    const tcBlob = Buffer.concat([pki.caDer, ZERO4, Buffer.from(token)]);
    server.handler = (_req, res) => answer(res, responseBody({ cupsUri: second.url, tcUri: 'ws://127.0.0.1:6092', cupsCred: cupsBlob, tcCred: tcBlob }));
    try {
      const first = await station().exchange();
      expect(first).toMatchObject({ ok: true, nothingToChange: false, applied: ['cupsUri', 'tcUri', 'cupsCred', 'tcCred'] });
      expect(await readFile(join(home, 'cups.trust'))).toEqual(pki.caDer);
      expect(await readFile(join(home, 'tc.key'), 'latin1')).toBe(token);
      expect((await readdir(home)).filter((f) => f.includes('-temp'))).toEqual([]);

      const next = await station().exchange();
      expect(second.raw).toHaveLength(1);
      const body = JSON.parse(second.raw[0]?.toString('latin1').split('\r\n\r\n')[1] ?? '') as Record<string, unknown>;
      expect(body).toMatchObject({ cupsUri: second.url, tcUri: 'ws://127.0.0.1:6092', cupsCredCrc: crc32(cupsBlob) >>> 0, tcCredCrc: crc32(tcBlob) >>> 0 });
      expect(next).toMatchObject({ ok: true, nothingToChange: true });
    } finally {
      await second.close();
    }
  });

  it('ignores a credential blob the station cannot split (30 81 length form) and still succeeds', async () => {
    await initStationHome(home, { cupsUri: server.url });
    const before = await readStationHome(home);
    const bad = Buffer.concat([Buffer.from([0x30, 0x81, 0x80]), Buffer.alloc(0x80, 1), ZERO4, ZERO4]);
    server.handler = (_req, res) => answer(res, responseBody({ cupsCred: bad, tcUri: 'ws://127.0.0.1:6092' }));
    const result = await station().exchange();
    expect(result).toMatchObject({ ok: true, applied: ['tcUri'] });
    expect(logs.some((l) => l.includes('Lengths do not align'))).toBe(true);
    const after = await readStationHome(home);
    expect(after.cupsCredCrc).toBe(before.cupsCredCrc);
    expect(after.tcUri).toBe('ws://127.0.0.1:6092');
  });
});

describe('transport failures', () => {
  it('fails a chunked body (no Content-Length) with the station message', async () => {
    await initStationHome(home, { cupsUri: server.url });
    server.handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(Buffer.alloc(14));
    };
    const result = await station().exchange();
    expect(result.ok).toBe(false);
    expect(result.error).toContain('Received more data than expected HTTP content size');
    expect(result.rawResponse?.chunked).toBe(true);
    expect(result.applied).toEqual([]);
  });

  it('reports a non-200 answer with its status and body text', async () => {
    await initStationHome(home, { cupsUri: server.url });
    server.handler = (_req, res) => {
      const text = Buffer.from('station not registered');
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
      res.end(text);
    };
    expect(await station().exchange()).toMatchObject({ ok: false, status: 404, error: 'station not registered' });
  });

  it('times out when the server never answers', async () => {
    const silent = createNetServer((s) => s.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      await initStationHome(home, { cupsUri: `http://127.0.0.1:${(silent.address() as { port: number }).port}` });
      expect(await station({ timeoutMs: 200 }).exchange()).toMatchObject({ ok: false, status: 0, error: 'CUPS timed out' });
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('does not send a token over plain http, as the station does not', async () => {
    await initStationHome(home, { cupsUri: server.url, cupsTrust: pki.caDer, cupsKey: Buffer.from('Authorization: Bearer cupstok456\n') });
    expect((await station().exchange()).ok).toBe(true);
    expect(server.headers[0]?.authorization).toBeUndefined();
  });
});

describe('TLS', () => {
  let tlsServer: FixedServer;
  beforeAll(async () => {
    tlsServer = await startServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.caPem, requestCert: true, rejectUnauthorized: false });
  });
  afterAll(async () => {
    await tlsServer.close();
  });

  it('sends token header lines verbatim over TLS, verifying the server with cups.trust', async () => {
    await initStationHome(home, { cupsUri: tlsServer.url, cupsTrust: pki.caDer, cupsKey: Buffer.from('Authorization: Bearer cupstok456\n') });
    const result = await station().exchange();
    expect(result).toMatchObject({ ok: true, nothingToChange: true });
    const raw = tlsServer.raw.at(-1)?.toString('latin1') ?? '';
    expect(raw).toMatch(/^POST \/update-info HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nContent-Type: application\/json\r\nContent-Length: [ \d]{5}\r\nAuthorization: Bearer cupstok456\r\n\r\n\{/);
  });

  it('authenticates with cups.crt and a SEC1 cups.key (mutual TLS)', async () => {
    await initStationHome(home, { cupsUri: tlsServer.url, cupsTrust: pki.caDer, cupsCrt: pki.clientCertDer, cupsKey: pki.clientKeyDer });
    expect((await station().exchange()).ok).toBe(true);
    expect(tlsServer.peerCns.at(-1)).toBe('station-0016C001FF10A235');
  });

  it('refuses a server its cups.trust does not vouch for', async () => {
    const otherCa = Buffer.from(execFileSync('/usr/bin/openssl', ['x509', '-in', join(work, 'server.pem'), '-outform', 'DER']));
    await initStationHome(home, { cupsUri: tlsServer.url, cupsTrust: otherCa });
    const requestsBefore = tlsServer.headers.length;
    const result = await station().exchange();
    expect(result).toMatchObject({ ok: false, status: 0 });
    expect(result.error).toMatch(/certificate/i);
    expect(tlsServer.headers).toHaveLength(requestsBefore);
  });
});

describe('firmware', () => {
  const script = Buffer.from('#!/bin/sh\nprintf "2.0.0\\n" > "$STATION_HOME/version.txt"\necho updated\n');
  const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sigKey = signer.publicKey.export({ type: 'spki', format: 'der' }).subarray(-64);
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }).subarray(-64);
  const signed = (data: Buffer) => ({ keyCrc: crc32(sigKey) >>> 0, der: sign('sha512', data, { key: signer.privateKey, dsaEncoding: 'der' }) });

  async function exchangeWith(body: Buffer, sigKeys: Buffer[]) {
    await initStationHome(home, { cupsUri: server.url, tcUri: 'ws://127.0.0.1:6092', version: '1.0.0', sigKeys });
    server.handler = (_req, res) => answer(res, body);
    return station().exchange();
  }

  it('verifies a signed update, runs it, and the next request reports the version it wrote', async () => {
    const result = await exchangeWith(responseBody({ sig: signed(script), update: script }), [other, sigKey]);
    expect(result.update).toMatchObject({ outcome: 'verified', keyIndex: 1, ran: true, exitCode: 0, size: script.length });
    expect(result.update?.sha256).toBe(createHash('sha256').update(script).digest('hex'));
    expect(result.update?.stdout).toBe('updated\n');
    expect(result.applied).toEqual(['update']);
    expect((await readStationHome(home)).version).toBe('2.0.0');
    server.handler = (_req, res) => answer(res, Buffer.alloc(14));
    await station().exchange();
    expect(server.raw.at(-1)?.toString('latin1')).toContain('"package":"2.0.0"');
  });

  it('aborts on a bad signature and deletes update.bin', async () => {
    const result = await exchangeWith(responseBody({ sig: signed(Buffer.from('something else')), update: script }), [sigKey]);
    expect(result).toMatchObject({ ok: true, applied: [] });
    expect(result.update).toMatchObject({ outcome: 'bad-signature', ran: false, exitCode: null });
    expect((await readStationHome(home)).version).toBe('1.0.0');
    expect(await readdir(home)).not.toContain('update.bin');
  });

  it('aborts an unsigned update when a key file is present', async () => {
    const result = await exchangeWith(responseBody({ update: script }), [sigKey]);
    expect(result.update).toMatchObject({ outcome: 'no-signature-abort', ran: false });
    expect((await readStationHome(home)).version).toBe('1.0.0');
  });

  it('runs an unsigned update when there is no key and no signature, reading a large body in many chunks', async () => {
    // 4 MB of shell comments after the script: the body arrives in hundreds of socket reads.
    const large = Buffer.concat([script, Buffer.from(`${'#'.repeat(1023)}\n`.repeat(4096))]);
    const result = await exchangeWith(responseBody({ update: large }), []);
    expect(result.update).toMatchObject({ outcome: 'unsigned-run', ran: true, exitCode: 0, size: large.length });
    expect(result.update?.sha256).toBe(createHash('sha256').update(large).digest('hex'));
    expect((await readStationHome(home)).version).toBe('2.0.0');
  });
});

describe('run', () => {
  it('stops after maxExchanges and refuses an unbounded loop', async () => {
    await initStationHome(home, { cupsUri: server.url, tcUri: 'ws://127.0.0.1:6092' });
    const results = await station().run({ maxExchanges: 3, intervalMs: 0 });
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(server.raw).toHaveLength(3);
    await expect(station().run({})).rejects.toThrow(/needs a bound/);
  });

  it('stops waiting for the next exchange when aborted', async () => {
    await initStationHome(home, { cupsUri: server.url, tcUri: 'ws://127.0.0.1:6092' });
    const stop = new AbortController();
    const log = (line: string): void => {
      if (line.startsWith('Next CUPS interaction in 86400000 ms')) stop.abort();
    };
    // Without the abort the station would wait 24 h after this successful exchange (its LNS connection works).
    const results = await station({ log }).run({ signal: stop.signal, tcOk: true });
    expect(results.map((r) => r.ok)).toEqual([true]);
  });
});
