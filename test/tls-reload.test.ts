import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCert, type IssuedCert } from '../src/pki/index.js';
import { startServeProcess } from './support/serve-process.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest, tlsExchange } from './support/tls-client.js';

const EUI = '0016C001FF10A235';

let dir: string;
let ca: IssuedCert;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-reload-'));
  ca = await createCa({ commonName: 'reload test CA' });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Replaces the files the way certificate tools do: write aside, then rename over. */
async function install(cert: IssuedCert, certPath: string, keyPath: string): Promise<void> {
  await writeFile(`${certPath}.new`, cert.certPem);
  await writeFile(`${keyPath}.new`, cert.keyPem);
  await rename(`${certPath}.new`, certPath);
  await rename(`${keyPath}.new`, keyPath);
}

/** The fingerprint of the certificate the server presents to a new connection, as lowercase hex. */
async function servedFingerprint(port: number): Promise<string> {
  const r = await tlsExchange({ port, ca: ca.certPem, request: stationRequest(EUI) });
  expect(r.status).toBe(404);
  return r.serverCertificate.fingerprint256.replace(/:/g, '').toLowerCase();
}

describe('server certificate reload without a restart', () => {
  let srv: TestServer;
  const certPath = () => join(dir, 'server.pem');
  const keyPath = () => join(dir, 'server.key');

  beforeAll(async () => {
    await install(await issueServerCert(ca, { names: ['127.0.0.1'] }), certPath(), keyPath());
    srv = await startTestServer({ tls: { cert: certPath(), key: keyPath() } });
  });
  afterAll(async () => srv.stop());

  it('serves new connections the new certificate once the files change', async () => {
    const before = await servedFingerprint(srv.port);
    const next = await issueServerCert(ca, { names: ['127.0.0.1', 'localhost'] });
    expect(next.fingerprint256).not.toBe(before);
    const reloads = srv.server.tls?.events as NodeJS.EventEmitter;
    const reloaded = once(reloads, 'reloaded');
    await install(next, certPath(), keyPath());
    const [info] = (await reloaded) as [{ fingerprint: string }];
    expect(info.fingerprint).toBe(next.fingerprint256);
    expect(await servedFingerprint(srv.port)).toBe(next.fingerprint256);
  });

  it('keeps serving the current certificate when the new files are unusable', async () => {
    const current = await servedFingerprint(srv.port);
    const failed = once(srv.server.tls?.events as NodeJS.EventEmitter, 'reload-failed');
    await writeFile(certPath(), 'not a certificate\n');
    const [error] = (await failed) as [Error];
    expect(error.message).toContain('--tls-cert');
    expect(await servedFingerprint(srv.port)).toBe(current);
  });
});

describe('bscups serve reloads its certificate on SIGHUP', () => {
  it('keeps the process up and presents the new certificate to new connections', async () => {
    const sub = await mkdtemp(join(dir, 'hup-'));
    const certPath = join(sub, 'server.pem');
    const keyPath = join(sub, 'server.key');
    await install(await issueServerCert(ca, { names: ['127.0.0.1'] }), certPath, keyPath);
    const serve = await startServeProcess(
      { BSCUPS_DATABASE: join(sub, 'registry.sqlite'), BSCUPS_BLOBS: join(sub, 'blobs'), BSCUPS_LOG_LEVEL: 'info' },
      ['--tls-cert', certPath, '--tls-key', keyPath, '--allow-unauthenticated'],
    );
    try {
      expect(serve.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(serve.url).port);
      const before = await servedFingerprint(port);
      const next = await issueServerCert(ca, { names: ['127.0.0.1'] });
      await install(next, certPath, keyPath);

      const lines = createInterface({ input: serve.child.stdout as NodeJS.ReadableStream });
      const reloadedBySignal = new Promise<void>((resolve) => {
        lines.on('line', (line) => {
          if (line.includes('"trigger":"SIGHUP"') && line.includes('server certificate reloaded')) resolve();
        });
      });
      serve.child.kill('SIGHUP');
      await reloadedBySignal;
      lines.close();

      expect(serve.child.exitCode).toBeNull();
      const after = await servedFingerprint(port);
      expect(after).toBe(next.fingerprint256);
      expect(after).not.toBe(before);
    } finally {
      await serve.stop();
    }
  });
});
