import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as fetchWith } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startServeProcess } from './support/serve-process.js';
import { startTestServer, type TestServer } from './support/server.js';

// The admin listener over real TLS with certificates from the product's own PKI
// (bscups pki init), the remote CLI trusting that private CA with --server-ca, and
// the CLI refusing to send its key in clear to another host.

let work: string;
let server: TestServer;
let origin: string;
let key: string;
const pki = (n: 1 | 2, file: string) => join(work, `pki${n}`, file);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-admin-tls-'));
  for (const n of [1, 2] as const) await bscupsJson(['pki', 'init', '--dir', join(work, `pki${n}`), '--server-name', '127.0.0.1']);
  await copyFile(pki(1, 'server.pem'), join(work, 'admin.pem'));
  await copyFile(pki(1, 'server.key'), join(work, 'admin.key'));
  server = await startTestServer({ config: { adminTlsCert: join(work, 'admin.pem'), adminTlsKey: join(work, 'admin.key') } });
  origin = server.server.admin.url.replace(/\/api\/v1$/, '');
  key = server.server.admin.firstAdminKey as string;
}, 60_000);
afterAll(async () => {
  await server?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** One GET through a client that trusts only `ca`. */
async function getWith(ca: string, path: string, at = origin): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const dispatcher = new Agent({ connect: { ca: await readFile(ca) } });
  try {
    const res = await fetchWith(`${at}${path}`, { headers: { authorization: `Bearer ${key}` }, dispatcher });
    await res.text();
    return res.status;
  } finally {
    await dispatcher.close();
  }
}

describe('admin listener over TLS', () => {
  it('serves the API and dashboard over https only, with the configured certificate', async () => {
    expect(origin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.server.admin.dashboard).toMatch(/^https:/);
    expect(await getWith(pki(1, 'ca.pem'), '/api/v1/me')).toBe(200);
    // Plain HTTP to the TLS port gets no answer: nothing is served in clear.
    await expect(fetch(`${origin.replace('https:', 'http:')}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } })).rejects.toThrow();
    // The station port stays as configured (plain HTTP here), and never serves the API.
    expect(server.url).toMatch(/^http:/);
  });

  it('the remote CLI talks to it with --server-ca (or BSCUPS_SERVER_CA), and names --server-ca when the certificate is not trusted', async () => {
    const registered = await bscupsInProcess(['--json', '--server', origin, '--api-key', key, '--server-ca', pki(1, 'ca.pem'), 'station', 'add', 'AA555A0000000101', '--name', 'over-tls']);
    expect(registered.code, registered.stderr).toBe(0);
    const listed = await bscupsInProcess(['--json', '--server', origin, 'station', 'list'], { BSCUPS_API_KEY: key, BSCUPS_SERVER_CA: pki(1, 'ca.pem') });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('AA555A0000000101');

    for (const ca of [undefined, pki(2, 'ca.pem')]) {
      const r = await bscupsInProcess(['--json', '--server', origin, '--api-key', key, ...(ca === undefined ? [] : ['--server-ca', ca]), 'station', 'list']);
      expect(r.code, r.stderr).toBe(6);
      const error = JSON.parse(r.stderr).error;
      expect(error.code).toBe('server_certificate_untrusted');
      expect(error.message).toContain('--server-ca');
    }
    const notACert = await bscupsInProcess(['--json', '--server', origin, '--api-key', key, '--server-ca', pki(1, 'ca.key'), 'station', 'list']);
    expect(notACert.code).toBe(2);
    expect(JSON.parse(notACert.stderr).error.code).toBe('invalid_server_ca');
  }, 60_000);

  it('reloads its certificate: after the files change, clients see the new one', async () => {
    expect(server.server.admin.tls).toBeDefined();
    await copyFile(pki(2, 'server.pem'), join(work, 'admin.pem'));
    await copyFile(pki(2, 'server.key'), join(work, 'admin.key'));
    const info = await server.server.admin.tls?.reload('test');
    expect(info?.fingerprint).toMatch(/^[0-9a-f:]+$/i);
    expect(await getWith(pki(2, 'ca.pem'), '/api/v1/me')).toBe(200);
    await expect(getWith(pki(1, 'ca.pem'), '/api/v1/me')).rejects.toThrow();
  });
});

describe('bscups serve --admin-tls-cert', () => {
  it('reloads the admin certificate on SIGHUP, and keeps serving', async () => {
    const sub = await mkdtemp(join(work, 'hup-'));
    await copyFile(pki(1, 'server.pem'), join(sub, 'admin.pem'));
    await copyFile(pki(1, 'server.key'), join(sub, 'admin.key'));
    const serve = await startServeProcess(
      { BSCUPS_DATABASE: join(sub, 'registry.sqlite'), BSCUPS_BLOBS: join(sub, 'blobs'), BSCUPS_LOG_LEVEL: 'info', BSCUPS_LOG_FORMAT: 'json', BSCUPS_ADMIN_PORT: '0' },
      ['--admin-tls-cert', join(sub, 'admin.pem'), '--admin-tls-key', join(sub, 'admin.key')],
    );
    try {
      const admin = (JSON.parse(await serve.waitForLine(/"listening"/)) as { admin: string }).admin.replace(/\/api\/v1$/, '');
      expect(admin).toMatch(/^https:/);
      expect(await getWith(pki(1, 'ca.pem'), '/api/v1/openapi.json', admin)).toBe(200);
      await copyFile(pki(2, 'server.pem'), join(sub, 'admin.pem'));
      await copyFile(pki(2, 'server.key'), join(sub, 'admin.key'));
      const reloaded = serve.waitForLine(/"trigger":"SIGHUP".*server certificate reloaded|server certificate reloaded.*"trigger":"SIGHUP"/);
      serve.child.kill('SIGHUP');
      expect(JSON.parse(await reloaded)).toMatchObject({ listener: 'admin' });
      expect(serve.child.exitCode).toBeNull();
      expect(await getWith(pki(2, 'ca.pem'), '/api/v1/openapi.json', admin)).toBe(200);
    } finally {
      await serve.stop();
    }
  }, 60_000);
});

describe('remote CLI over plain HTTP', () => {
  it('refuses to send an API key in clear to a host other than this one, unless --allow-http (BSCUPS_ALLOW_HTTP)', async () => {
    // 0.0.0.0 is not a loopback name; nothing listens on port 1, so an allowed request fails fast.
    const refused = await runCli(['--json', '--server', 'http://0.0.0.0:1', '--api-key', key, 'station', 'list']);
    expect(refused.code).toBe(2);
    const error = JSON.parse(refused.stderr).error;
    expect(error.code).toBe('insecure_server');
    expect(error.message).toContain('https://');
    expect(refused.stderr).not.toContain(key);
    for (const allow of [{ args: ['--allow-http'], env: {} as Record<string, string> }, { args: [], env: { BSCUPS_ALLOW_HTTP: '1' } }]) {
      const r = await bscupsInProcess(['--json', '--server', 'http://0.0.0.0:1', '--api-key', key, ...allow.args, 'station', 'list'], allow.env);
      expect(r.code, r.stderr).toBe(6);
      expect(JSON.parse(r.stderr).error.code).toBe('server_unreachable');
    }
    const caOverHttp = await bscupsInProcess(['--json', '--server', 'http://127.0.0.1:1', '--api-key', key, '--server-ca', pki(1, 'ca.pem'), 'station', 'list']);
    expect(caOverHttp.code).toBe(2);
    expect(JSON.parse(caOverHttp.stderr).error.code).toBe('conflicting_options');
  }, 60_000);

  it('takes --admin-tls-cert and --admin-tls-key together only', () => {
    expect(() => loadConfig({ adminTlsCert: '/x.pem' }, {})).toThrow(/--admin-tls-key \(env BSCUPS_ADMIN_TLS_KEY\)/);
    expect(loadConfig({}, { BSCUPS_ADMIN_TLS_CERT: '/a.pem', BSCUPS_ADMIN_TLS_KEY: '/a.key' }).adminTlsCert).toBe('/a.pem');
  });
});
