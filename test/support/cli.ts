import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureTestRegistry } from './registry-fixture.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
// By path, so the CLI also starts in a folder outside the project (tsx is resolved from here, not from cwd).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The command line that starts the real CLI (node and its arguments), for tests that wrap it (strace). */
export function cliArgv(args: readonly string[]): string[] {
  return [process.execPath, '--import', TSX, BIN, ...args];
}

/** Runs the real `bscups` CLI in a child process (through tsx, no build step). */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliResult> {
  await ensureTestRegistry(env);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, BIN, ...args],
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
  return spawn(process.execPath, ['--import', TSX, BIN, ...args], { cwd, env: { ...process.env, BSCUPS_LOG_LEVEL: 'silent', ...env } });
}
