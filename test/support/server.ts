import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config, type ConfigInput } from '../../src/config.js';
import { serve, type RunningServer, type ServeOptions } from '../../src/http/serve.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { StationRegistry } from '../../src/registry/types.js';

export interface TestServerOptions {
  readonly database?: string;
  readonly blobs?: string;
  /** Serve stations in auth mode none; default true, as the plain-HTTP tests predate authentication. */
  readonly allowUnauthenticated?: boolean;
  /** PEM files: serve HTTPS (and request client certificates when clientCa is given). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa?: string };
  /** Wraps the registry the server (not the test) uses, e.g. to record which methods it calls. */
  readonly wrapRegistry?: (registry: StationRegistry) => StationRegistry;
  /** Further config (deadlines, caps, retention), as flags would give it. */
  readonly config?: ConfigInput;
  /** The server's logger; silent (or TEST_LOG_LEVEL) when absent. */
  readonly logger?: Logger;
  /** Options of serve() that are not configuration (the PKI folder, the dashboard). */
  readonly serve?: ServeOptions;
  /**
   * Open the runtime as `bscups serve` does (registry cache in front, last-seen
   * batched) unless config.registryCache is false, so the station path is tested
   * as it runs, from memory; false opens the plain registry. Default true.
   */
  readonly serving?: boolean;
}

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
export async function startTestServer(overrides: TestServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bscups-test-'));
  const config = loadConfig({
    ...overrides.config,
    database: overrides.database ?? join(dir, 'registry.sqlite'),
    blobs: overrides.blobs ?? join(dir, 'blobs'),
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    allowUnauthenticated: overrides.allowUnauthenticated ?? true,
    tlsCert: overrides.tls?.cert,
    tlsKey: overrides.tls?.key,
    clientCa: overrides.tls?.clientCa,
  });
  const runtime = await openRuntime(config, { serving: overrides.serving ?? true });
  const served = overrides.wrapRegistry === undefined ? runtime : { ...runtime, registry: overrides.wrapRegistry(runtime.registry) };
  const server = await serve(served, config, overrides.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), overrides.serve);
  // The in-process CLI shares this event loop: its SQLite writes must not meet the first sweep's transaction.
  await server.settled;
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
