import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { rawExchange } from './support/raw-http.js';
import { startServeProcess } from './support/serve-process.js';

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-serve-cli-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('bscups serve, as an operator runs it', () => {
  it('names the port in one line, without a stack trace, when the port is in use', async () => {
    const squatter: Server = createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const port = (squatter.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--port', String(port)], env);
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port}`);
      expect(lines[0]).toContain('--port');
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      squatter.close();
    }
  });

  it('keeps serving plain HTTP after SIGHUP and logs that it ignored it', async () => {
    const server = await startServeProcess({ ...env, BSCUPS_LOG_LEVEL: 'info', BSCUPS_LOG_FORMAT: 'json' });
    try {
      const logged = server.waitForLine(/SIGHUP ignored/);
      server.child.kill('SIGHUP');
      const line = JSON.parse(await logged) as { level: number; msg: string };
      expect(line.msg).toMatch(/plain HTTP/);
      const port = Number(new URL(server.url).port);
      const health = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(health.status).toBe(200);
      expect(server.child.exitCode).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('writes one readable line per entry with --log-format pretty, and JSON lines by default when not on a terminal', async () => {
    const pretty = await startServeProcess({ ...env, BSCUPS_LOG_LEVEL: 'info' }, ['--log-format', 'pretty']);
    try {
      const line = await pretty.waitForLine(/bscups serving/);
      expect(line).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: bscups serving /);
      expect(() => JSON.parse(line) as unknown).toThrow();
    } finally {
      await pretty.stop();
    }
    const json = await startServeProcess({ ...env, BSCUPS_LOG_LEVEL: 'info' });
    try {
      const line = await json.waitForLine(/bscups serving/);
      expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'bscups serving' });
    } finally {
      await json.stop();
    }
  });

  it('refuses an unknown --log-format naming the flag', async () => {
    const r = await runCli(['serve', '--port', '0', '--log-format', 'xml'], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--log-format');
  });
});
