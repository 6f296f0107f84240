import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { cliEntryArgs } from './cli-entry.js';

export interface ServeProcess {
  readonly url: string;
  /** The admin API's URL (…/api/v1). */
  readonly admin: string;
  readonly child: ChildProcess;
  /** Resolves with the first stdout line (since start) that matches. */
  waitForLine(pattern: RegExp): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the real `bscups serve` in a child process on a free loopback port and waits for its listening line. */
export async function startServeProcess(env: Record<string, string>, extraArgs: readonly string[] = [], options: { readonly openFiles?: number } = {}): Promise<ServeProcess> {
  const args = [...cliEntryArgs(), '--json', 'serve', '--host', '127.0.0.1', '--port', '0', ...extraArgs];
  const spawnOptions = { env: { ...process.env, BSCUPS_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };
  // With openFiles, through a shell that lowers the open-file limit (soft and hard, so Node cannot raise it) first.
  const child =
    options.openFiles === undefined
      ? spawn(process.execPath, args, spawnOptions)
      : spawn('/bin/sh', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, ...args], spawnOptions);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const seen: string[] = [];
  lines.on('line', (line) => seen.push(line));
  let admin = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bscups serve did not start within 30 s: ${stderr}`)), 30_000);
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { listening?: string; admin?: string };
        if (msg.listening !== undefined) {
          clearTimeout(timer);
          admin = msg.admin ?? '';
          resolve(msg.listening);
        }
      } catch {
        // log lines are JSON too; anything else is ignored
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bscups serve exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    admin,
    child,
    waitForLine(pattern) {
      const found = seen.find((l) => pattern.test(l));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => {
        const onLine = (line: string) => {
          if (!pattern.test(line)) return;
          lines.off('line', onLine);
          resolve(line);
        };
        lines.on('line', onLine);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}
