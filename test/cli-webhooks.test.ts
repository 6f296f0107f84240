import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';

let dir: string;
let local: Record<string, string>;
let remote: Record<string, string>;
let client: string;
let serve: ServeProcess;
const got: { headers: IncomingHttpHeaders; body: string }[] = [];
const arrivals: (() => void)[] = [];
const rx = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    got.push({ headers: req.headers, body });
    res.end();
    arrivals.shift()?.();
  });
});
let rxUrl: string;

beforeAll(async () => {
  rx.listen(0, '127.0.0.1');
  await once(rx, 'listening');
  rxUrl = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/in`;
  dir = await mkdtemp(join(tmpdir(), 'bscups-cli-webhooks-'));
  local = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  serve = await startServeProcess(local, ['--allow-unauthenticated', '--admin-port', '0', '--webhook-interval', '0.05']);
  const line = JSON.parse(await serve.waitForLine(/"listening"/)) as { admin: string; firstAdminKey: string };
  remote = { BSCUPS_SERVER: line.admin.replace(/\/api\/v1$/, ''), BSCUPS_API_KEY: line.firstAdminKey };
  // The remote CLI runs where there is no database: it can only work through the API.
  client = join(dir, 'client');
  await mkdir(client);
});
afterAll(async () => {
  await serve?.stop();
  rx.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bscups webhook', () => {
  it('refuses a URL that is not http or https, and an unknown event, with a clear message', async () => {
    const ftp = await runCli(['webhook', 'add', '--url', 'ftp://192.0.2.1/x', '--events', 'all'], local);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('http:// or https://');
    const unknown = await bscupsInProcess(['webhook', 'add', '--url', rxUrl, '--events', 'rollout.halted,gateway.exploded'], local);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('gateway.exploded');
  });

  it('adds locally, lists and tests through the API; the running server delivers the signed test event; secrets never come back', async () => {
    const added = await bscupsJson<{ id: string; secret: string }>(['webhook', 'add', '--url', rxUrl, '--events', 'all', '--secret', 'hunter2-secret'], local);
    expect(added.secret).toBe('set');
    const listed = await bscupsInProcess(['--json', 'webhook', 'list'], remote, client);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(added.id);
    expect(listed.stdout).not.toContain('hunter2-secret');

    const arrived = new Promise<void>((resolve) => arrivals.push(resolve));
    const tested = await bscupsInProcess(['--json', 'webhook', 'test', added.id], remote, client);
    expect(tested.code, tested.stderr).toBe(0);
    await arrived;
    const [r] = got;
    expect(r?.headers['x-bscups-event']).toBe('test');
    expect(r?.headers['x-bscups-signature']).toBe(`sha256=${createHmac('sha256', 'hunter2-secret').update(r!.body).digest('hex')}`);
    expect(JSON.parse(r!.body)).toMatchObject({ type: 'test', data: { webhook: { id: added.id } } });

    // The worker records the attempt right after the answer: wait for it (through the API, cheaper than a CLI per look).
    const api = `${remote.BSCUPS_SERVER}/api/v1/webhook-deliveries?webhook=${added.id}`;
    let deliveries: { state: string; eventType: string }[] = [];
    for (let i = 0; i < 200 && deliveries[0]?.state !== 'delivered'; i++) {
      deliveries = (await (await fetch(api, { headers: { authorization: `Bearer ${remote.BSCUPS_API_KEY}` } })).json()) as typeof deliveries;
      if (deliveries[0]?.state !== 'delivered') await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await bscupsJson(['webhook', 'deliveries', '--webhook', added.id], local)).toMatchObject([{ state: 'delivered', eventType: 'test', attempts: 1 }]);

    const removed = await bscupsInProcess(['--json', 'webhook', 'remove', added.id], remote, client);
    expect(removed.code, removed.stderr).toBe(0);
    const audit = await bscupsInProcess(['--json', 'audit'], local);
    expect(audit.stdout).toContain('webhook.add');
    expect(audit.stdout).toContain('webhook.remove');
    expect(audit.stdout).not.toContain('hunter2-secret');
  });
});
