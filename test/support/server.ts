import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { serve, type RunningServer } from '../../src/http/serve.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly config: Config;
  readonly runtime: Runtime;
  readonly server: RunningServer;
  /** Env for CLI child processes so they use this server's registry and blobs. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** A real server on a loopback port with a fresh SQLite registry and blob folder. */
export async function startTestServer(overrides: { database?: string; blobs?: string } = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bscups-test-'));
  const config = loadConfig({
    database: overrides.database ?? join(dir, 'registry.sqlite'),
    blobs: overrides.blobs ?? join(dir, 'blobs'),
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
  });
  const runtime = await openRuntime(config);
  const server = await serve(runtime, config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  return {
    url: server.url,
    port: server.port,
    dir,
    config,
    runtime,
    server,
    env: { BSCUPS_DATABASE: config.database, BSCUPS_BLOBS: config.blobs },
    async stop() {
      await server.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
