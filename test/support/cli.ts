import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliEntryArgs } from './cli-entry.js';
import { ensureTestRegistry } from './registry-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command line that starts the real CLI (node and its arguments), for tests that wrap it (strace). */
export function cliArgv(args: readonly string[]): string[] {
  return [process.execPath, ...cliEntryArgs(), ...args];
}

/** Runs the real `bscups` CLI in a child process (src/ as transpiled for this run, see cli-entry.ts). */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliResult> {
  await ensureTestRegistry(env);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliEntryArgs(), ...args],
      { cwd, env: { ...process.env, BSCUPS_LOG_LEVEL: 'silent', ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the CLI with --json and parses stdout; throws with stderr when it fails. */
export async function cliJson<T = unknown>(args: readonly string[], env: Record<string, string> = {}): Promise<T> {
  const r = await runCli(['--json', ...args], env);
  if (r.code !== 0) throw new Error(`bscups ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Starts the real CLI with piped stdio, for tests that need the streams themselves (a reader that closes early). */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}, cwd = ROOT): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [...cliEntryArgs(), ...args], { cwd, env: { ...process.env, BSCUPS_LOG_LEVEL: 'silent', ...env } });
}
