import { fork, type ChildProcess } from 'node:child_process';
import type { ChildMessage, ParentMessage, ServerSpec, ServerStats } from './server-spec.js';

const START_TIMEOUT_MS = 60_000;
const REPLY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** A server running in a child process. */
export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** Resource use measured inside the child; `resetPeak` restarts the sampled peak. */
  stats(resetPeak?: boolean): Promise<ServerStats>;
  /** Asks the child to close and exit; kills it when it does not within 10 s. Safe to call twice. */
  stop(): Promise<void>;
}

export interface ChildOptions {
  /** The compiled server-child.js (see compile-child.ts). */
  readonly entry: string;
  /** Write a V8 CPU profile of the server into this folder (node --cpu-prof). */
  readonly cpuProfDir?: string;
}

/** Forks the server child under plain node and waits for it to report its port. */
export async function startServerChild(spec: ServerSpec, options: ChildOptions): Promise<ServerChild> {
  const execArgv = options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`];
  const child = fork(options.entry, [JSON.stringify(spec)], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const port = await waitForReady(child);
    return handle(child, port, exited);
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
}

function waitForReady(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server child did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: ChildMessage) => {
      if (m.type === 'ready') {
        done();
        resolve(m.port);
      } else if (m.type === 'failed') {
        done();
        reject(new Error(`server child failed to start: ${m.message}`));
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`server child exited with code ${code} before it was ready`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function handle(child: ChildProcess, port: number, exited: Promise<void>): ServerChild {
  let nextId = 0;
  let stopped: Promise<void> | undefined;
  const post = (m: ParentMessage) => child.send(m);
  return {
    port,
    pid: child.pid ?? -1,
    stats(resetPeak = false) {
      const id = ++nextId;
      return new Promise<ServerStats>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.off('message', onMessage);
          reject(new Error('server child did not answer a stats request'));
        }, REPLY_TIMEOUT_MS);
        const onMessage = (m: ChildMessage) => {
          if (m.type !== 'stats' || m.id !== id) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(m.stats);
        };
        child.on('message', onMessage);
        post({ type: 'stats', id, resetPeak });
      });
    },
    stop() {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (child.connected) post({ type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}
