import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../../src/config.js';
import { startTestServer, type TestServer } from './server.js';

/**
 * What the health stories run in: bscups replicas on one registry, LNS listeners
 * that accept (and read the simulator's router-info request, so they close), and a
 * port where nothing listens (a dead LNS).
 */
export interface LnsWorld {
  readonly work: string;
  readonly replicas: readonly TestServer[];
  /** Ports of the LNS listeners that accept, in order. */
  readonly lnsPorts: readonly number[];
  /** A port nothing listens on. */
  readonly deadPort: number;
  close(): Promise<void>;
}

export interface LnsWorldOptions {
  /** Prefix of the work folder's name. */
  readonly name: string;
  readonly database: (work: string) => Promise<{ url: string; drop(): Promise<void> }>;
  readonly config?: ConfigInput;
  readonly replicas: number;
  readonly lns: number;
}

function listen(server: NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

export async function startLnsWorld(o: LnsWorldOptions): Promise<LnsWorld> {
  const work = await mkdtemp(join(tmpdir(), `${o.name}-`));
  const db = await o.database(work);
  const replicas: TestServer[] = [];
  for (let i = 0; i < o.replicas; i++) replicas.push(await startTestServer({ database: db.url, ...(o.config === undefined ? {} : { config: o.config }) }));
  const listeners = Array.from({ length: o.lns }, () => createNetServer((s) => s.on('error', () => undefined).resume()));
  const lnsPorts: number[] = [];
  for (const l of listeners) lnsPorts.push(await listen(l));
  const free = createNetServer();
  const deadPort = await listen(free);
  await new Promise((resolve) => free.close(resolve));
  return {
    work,
    replicas,
    lnsPorts,
    deadPort,
    async close() {
      for (const r of replicas) await r.stop();
      for (const l of listeners) await new Promise((resolve) => l.close(resolve));
      await db.drop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
