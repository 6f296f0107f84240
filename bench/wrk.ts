/**
 * wrk (https://github.com/wg/wrk) as the load generator: a C event loop that
 * costs the box far less CPU per request than a Node client would, so the
 * server under test, not the client, sets the pace. Installed from the Debian
 * package when missing. Requests come from a Lua script that returns the
 * stations' exact bytes, one registered station after the other.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What one wrk run measured. */
export interface WrkResult {
  /** Responses received (any status). */
  readonly requests: number;
  readonly seconds: number;
  /** Correct responses (2xx) per second. */
  readonly rate: number;
  /** Connect, read, write and timeout errors plus non-2xx/3xx responses. */
  readonly errors: number;
  readonly errorDetail: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Makes sure wrk is on the PATH, installing the Debian package (`apt-get install wrk`) when it is not. */
export function ensureWrk(log: (line: string) => void): void {
  if (spawnSync('wrk', ['--version']).error === undefined) return;
  log('wrk not found: installing it with apt-get (Debian package "wrk")');
  const install = spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq wrk'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (install.status !== 0 || spawnSync('wrk', ['--version']).error !== undefined) {
    throw new Error('wrk is needed as the load generator and could not be installed: run "apt-get update && apt-get install -y wrk" (as root), or install wrk from https://github.com/wg/wrk');
  }
}

/** A Lua string literal holding `bytes` exactly: three-digit decimal escapes (a shorter one would swallow a following digit) for all but plain printable ASCII. */
function luaString(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`;
  return `${out}"`;
}

/**
 * Writes a wrk script that sends `requests` verbatim in turn (each thread starts
 * at its own offset) and prints the summary as one JSON line at the end.
 */
export async function writeWrkScript(dir: string, name: string, requests: readonly Buffer[]): Promise<string> {
  const path = join(dir, `${name}.lua`);
  const lines = [
    'local reqs = {',
    ...requests.map((r) => `${luaString(r)},`),
    '}',
    'local n = #reqs',
    'local i = 0',
    'local threads = 0',
    'function setup(thread) thread:set("offset", threads * 7919) threads = threads + 1 end',
    'function init(args) i = (tonumber(offset) or 0) % n end',
    'function request() i = i + 1 if i > n then i = 1 end return reqs[i] end',
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("WRK_RESULT {\\"requests\\":%d,\\"micros\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n",',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
  ];
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

/** Runs wrk against `url` with the script for `seconds`; one thread, so one core stays with the server. */
export async function runWrk(options: { readonly url: string; readonly script: string; readonly connections: number; readonly seconds: number }): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', '-s', options.script, options.url];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = /^WRK_RESULT (.*)$/m.exec(out)?.[1];
  if (code !== 0 || line === undefined) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}): ${err.trim() || out.trim()}`);
  const r = JSON.parse(line) as Record<'requests' | 'micros' | 'connect' | 'read' | 'write' | 'status' | 'timeout' | 'p50' | 'p99', number>;
  const errors = r.connect + r.read + r.write + r.status + r.timeout;
  const seconds = r.micros / 1e6;
  return {
    requests: r.requests,
    seconds,
    rate: (r.requests - r.status) / seconds,
    errors,
    errorDetail: `connect ${r.connect}, read ${r.read}, write ${r.write}, non-2xx ${r.status}, timeout ${r.timeout}`,
    p50Ms: r.p50 / 1000,
    p99Ms: r.p99 / 1000,
  };
}
