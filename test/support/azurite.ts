import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Azurite {
  /** Connection string for the emulator's well-known devstoreaccount1 account. */
  readonly connectionString: string;
  /** Stops the emulator and removes its data folder. */
  stop(): Promise<void>;
}

/** Azurite's published development account key (a public constant, not a secret). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const BIN = fileURLToPath(new URL('../../node_modules/.bin/azurite-blob', import.meta.url));
const START_TIMEOUT_MS = 20_000;

/** Starts azurite-blob on a free loopback port with a throwaway data folder; resolves once the port accepts connections. */
export async function startAzurite(): Promise<Azurite> {
  const port = await freePort();
  const location = await mkdtemp(path.join(tmpdir(), 'bscups-azurite-'));
  const args = ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location];
  args.push('--silent', '--skipApiVersionCheck', '--loose', '--disableTelemetry');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (b: Buffer): void => {
    output = (output + b.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`could not run ${BIN}: ${e.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`azurite-blob exited (${signal ?? code}) before listening: ${output.trim()}`)));
  });
  void exited.catch(() => undefined);
  try {
    await Promise.race([waitForPort(port, START_TIMEOUT_MS), exited]);
  } catch (e) {
    await stopChild(child);
    await rm(location, { recursive: true, force: true });
    throw e;
  }
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${DEV_ACCOUNT};`,
    async stop() {
      await stopChild(child);
      await rm(location, { recursive: true, force: true });
    },
  };
}

/**
 * The policy for suites that need Azurite: when it cannot start, a local run
 * skips them with a loud warning, but under CI=true the run fails.
 */
export async function startAzuriteOrSkip(
  suite: string,
  start: () => Promise<Azurite> = startAzurite,
): Promise<Azurite | undefined> {
  try {
    return await start();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    if (process.env.CI === 'true') {
      throw new Error(`${suite}: Azurite could not start, and CI=true forbids skipping: ${reason}`, { cause: e });
    }
    console.warn(`\n*** SKIPPING ${suite}: Azurite could not start (${reason}). CI=true would fail here. ***\n`);
    return undefined;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port');
  return address.port;
}

/** Retries a TCP connect until it succeeds; nothing announces readiness on a socket, so this is the event. */
async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`azurite-blob did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
