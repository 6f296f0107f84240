import { main } from '../../src/cli/main.js';
import { ensureTestRegistry } from './registry-fixture.js';

// The real CLI entry point run in this process: the same parsing, actions and output as a child
// process, without starting a Node process per command (seconds each on a busy machine).

export interface InProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs `bscups ARGV` in `cwd` with `env` as its whole BSCUPS_ environment; one at a time (it swaps globals). */
export function bscupsInProcess(argv: readonly string[], env: Record<string, string> = {}, cwd = process.cwd()): Promise<InProcessResult> {
  const run = queue.then(() => runOne(argv, env, cwd));
  queue = run.catch(() => undefined);
  return run;
}

async function runOne(argv: readonly string[], env: Record<string, string>, cwd: string): Promise<InProcessResult> {
  await ensureTestRegistry(env);
  const saved = { cwd: process.cwd(), env: process.env, out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  // Captured output is not a terminal, as for a child whose output is piped (no progress bars).
  const tty = { out: Object.getOwnPropertyDescriptor(process.stdout, 'isTTY'), err: Object.getOwnPropertyDescriptor(process.stderr, 'isTTY') };
  Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true, writable: true });
  Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true, writable: true });
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += chunk.toString()), true)) as typeof process.stderr.write;
  const base = Object.fromEntries(Object.entries(saved.env).filter(([k]) => !k.startsWith('BSCUPS_')));
  process.env = { ...base, BSCUPS_LOG_LEVEL: 'silent', ...env };
  process.chdir(cwd);
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    process.chdir(saved.cwd);
    process.env = saved.env;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    restoreProperty(process.stdout, 'isTTY', tty.out);
    restoreProperty(process.stderr, 'isTTY', tty.err);
  }
}

function restoreProperty(target: object, key: string, descriptor: PropertyDescriptor | undefined): void {
  if (descriptor === undefined) Reflect.deleteProperty(target, key);
  else Object.defineProperty(target, key, descriptor);
}

/** Runs with --json and parses stdout; throws with stderr when it fails. */
export async function bscupsJson<T = unknown>(argv: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<T> {
  const r = await bscupsInProcess(['--json', ...argv], env, cwd);
  if (r.code !== 0) throw new Error(`bscups ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
