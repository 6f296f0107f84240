/**
 * A digest of a V8 CPU profile (`node --cpu-prof`, a .cpuprofile JSON file) of
 * a product server: where its main thread spent the time of the measured runs,
 * grouped coarsely (node internals, TLS and crypto, registry, the product's
 * handler, logging, metrics, GC, idle), and the functions with the most self
 * time. Plain code over the file's JSON: each sample's self time is the time to
 * the next sample (timeDeltas), as Chrome DevTools counts it.
 *
 * `npm run bench -- --cpu-prof DIR update-info` prints it under the table for
 * the measured runs only; `npx tsx bench/profile-digest.ts FILE.cpuprofile…`
 * digests whole profiles (start-up and warm-ups included).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { num } from './table.js';

/** The parts of a .cpuprofile this digest reads. */
export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame }[];
  /** µs on the process's monotonic clock (the one process.hrtime reads). */
  readonly startTime: number;
  readonly endTime: number;
  /** Node id on top of the stack at each sample. */
  readonly samples: readonly number[];
  /** µs from the previous sample (the first: from startTime). */
  readonly timeDeltas: readonly number[];
}

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

/** A span of the server's monotonic clock in µs (ServerStats.monoMicros before and after a run). */
export interface Window {
  readonly from: number;
  readonly to: number;
}

export interface Digest {
  /** Sampled main-thread time inside the windows, µs. */
  readonly micros: number;
  /** Self time per group, µs. */
  readonly groups: ReadonlyMap<string, number>;
  /** Self time per function, most first. */
  readonly functions: readonly { readonly name: string; readonly where: string; readonly group: string; readonly micros: number }[];
}

/** The groups in the order the digest lists them. */
export const GROUPS = [
  'node internals (http, net, streams, events, timers)',
  'syscalls and C++ bindings called from JS (writev, close, …)',
  'TLS and crypto (node:tls, node:crypto)',
  'native, outside JS (libuv, TLS/crypto in C++, syscalls)',
  'product HTTP handler (src/http)',
  'product core, protocol, pki',
  'registry cache (src/registry/cache)',
  'registry database (src/registry, kysely, drivers)',
  'pino logging',
  'prom-client',
  'fastify',
  'other dependencies',
  'other',
  'garbage collector',
  'idle',
] as const;
export type Group = (typeof GROUPS)[number];

const NODE_TLS = /^node:(tls|https|_tls_\w+|crypto|internal\/(crypto|tls)\b)/;
const PINO = /\/node_modules\/(pino|pino-std-serializers|sonic-boom|fast-redact|quick-format-unescaped|thread-stream|on-exit-leak-free|safe-stable-stringify|atomic-sleep)\//;
const PROM = /\/node_modules\/(prom-client|tdigest|bintrees)\//;
const DRIVERS = /\/node_modules\/(kysely|better-sqlite3|bindings|pg|pg-pool|pg-protocol|pg-types|pg-connection-string|pgpass|postgres-\w+)\//;
const FASTIFY = /\/node_modules\/(fastify|@fastify\/[\w-]+|find-my-way|avvio|light-my-request|fast-json-stringify|abstract-logging|process-warning|toad-cache|rfdc)\//;

/** The coarse group a function belongs to, by its script (the bench runs the product from a compiled copy of src/). */
export function groupOf(frame: CallFrame): Group {
  const { functionName: name, url } = frame;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'garbage collector';
  if (name === '(program)' || name === '(root)') return 'native, outside JS (libuv, TLS/crypto in C++, syscalls)';
  if (NODE_TLS.test(url)) return 'TLS and crypto (node:tls, node:crypto)';
  if (PINO.test(url)) return 'pino logging';
  if (PROM.test(url)) return 'prom-client';
  if (DRIVERS.test(url)) return 'registry database (src/registry, kysely, drivers)';
  if (FASTIFY.test(url)) return 'fastify';
  if (url.includes('/node_modules/')) return 'other dependencies';
  if (url.includes('/src/registry/cache/')) return 'registry cache (src/registry/cache)';
  if (url.includes('/src/registry/')) return 'registry database (src/registry, kysely, drivers)';
  if (url.includes('/src/http/')) return 'product HTTP handler (src/http)';
  if (/\/src\/(core|protocol|pki|blobs|config|runtime)/.test(url)) return 'product core, protocol, pki';
  // Functions implemented in C++ that node's modules call have no script: mostly the socket syscalls.
  if (url === '') return 'syscalls and C++ bindings called from JS (writev, close, …)';
  if (url.startsWith('node:')) return 'node internals (http, net, streams, events, timers)';
  return 'other';
}

/** A script's location without the temp folder it ran from: src/…, bench/…, node_modules/… or node:…. */
function shortUrl(url: string): string {
  const dep = url.lastIndexOf('/node_modules/');
  if (dep >= 0) return url.slice(dep + 1);
  const own = /\/((src|bench)\/.*)$/.exec(url);
  if (own !== null) return own[1] as string;
  return url === '' ? '(native)' : url;
}

/** Digests the samples inside `windows` (all of them when none are given). */
export function digestProfile(profile: CpuProfile, windows?: readonly Window[]): Digest {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const groups = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; group: string; micros: number }>();
  let micros = 0;
  let t = profile.startTime;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one; the last one for none.
    const self = i + 1 < samples.length ? (timeDeltas[i + 1] ?? 0) : 0;
    if (self <= 0) continue;
    if (windows !== undefined && !windows.some((w) => t >= w.from && t < w.to)) continue;
    const frame = frames.get(samples[i] as number);
    if (frame === undefined) continue;
    const group = groupOf(frame);
    micros += self;
    groups.set(group, (groups.get(group) ?? 0) + self);
    const where = `${shortUrl(frame.url)}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
    const key = `${frame.functionName}\u0000${where}`;
    const f = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, group, micros: 0 };
    f.micros += self;
    functions.set(key, f);
  }
  return { micros, groups, functions: [...functions.values()].sort((a, b) => b.micros - a.micros) };
}

/** The .cpuprofile node wrote for process `pid` into `dir` (named CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile). */
export async function findProfile(dir: string, pid: number): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const name = names.find((n) => n.endsWith('.cpuprofile') && n.split('.')[3] === String(pid));
  return name === undefined ? undefined : join(dir, name);
}

export async function readProfile(path: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
}

/** One column of the digest table: a measured row of a benchmark and what its server's profile says about it. */
export interface DigestColumn {
  readonly label: string;
  readonly digest: Digest;
  /** Requests answered in the windows, to turn time into µs per request. */
  readonly requests: number;
  /** The profile file it came from. */
  readonly file: string;
}

const pctOf = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '—');

/**
 * Markdown: a table of each group's share of the server's main-thread time in
 * the measured runs (and µs per request), then the top functions by self time
 * of each column.
 */
export function renderDigest(title: string, columns: readonly DigestColumn[], scope = 'during the measured runs (warm-ups excluded), and in brackets that time per answered request', topFunctions = 12): string {
  if (columns.length === 0) return '';
  const out = [`#### ${title}`, ''];
  const header = ['group', ...columns.map((c) => c.label)];
  out.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const g of GROUPS) {
    if (columns.every((c) => (c.digest.groups.get(g) ?? 0) === 0)) continue;
    const cells = columns.map((c) => {
      const us = c.digest.groups.get(g) ?? 0;
      return `${pctOf(us, c.digest.micros)} (${num(us / Math.max(1, c.requests), 1)} µs)`;
    });
    out.push(`| ${g} | ${cells.join(' | ')} |`);
  }
  const busy = (c: DigestColumn) => c.digest.micros - (c.digest.groups.get('idle') ?? 0);
  out.push(`| **busy (not idle)** | ${columns.map((c) => `**${pctOf(busy(c), c.digest.micros)} (${num(busy(c) / Math.max(1, c.requests), 1)} µs)**`).join(' | ')} |`);
  out.push(
    '',
    `Share of the bscups server's main-thread samples ${scope}. From \`--cpu-prof\` (V8 sampling profiler, ~1 ms interval, self time: the function on top of the stack). "syscalls and C++ bindings" is native code JavaScript called (writev is the write of the answer, close and shutdown end the connection: mostly kernel time). "native, outside JS" is time with no JavaScript on the stack: libuv, the TLS handshake and record crypto that OpenSSL does in C++ when data arrives. Time on other threads (libuv pool, GC helpers) is not in the main-thread samples. Profiling itself slows the server a little; the req/s of a profiled run are not for the README.`,
  );
  for (const c of columns) {
    out.push('', `Top ${topFunctions} functions by self time, ${c.label} (${shortName(c.file)}, ${num(c.digest.micros / 1000)} ms sampled, ${num(c.requests)} requests):`, '');
    out.push('| self | µs/req | function | where | group |', '|---|---|---|---|---|');
    for (const f of c.digest.functions.slice(0, topFunctions)) {
      out.push(`| ${pctOf(f.micros, c.digest.micros)} | ${num(f.micros / Math.max(1, c.requests), 1)} | \`${f.name}\` | ${f.where} | ${f.group} |`);
    }
  }
  return `${out.join('\n')}\n`;
}

function shortName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: npx tsx bench/profile-digest.ts FILE.cpuprofile...');
    process.exit(2);
  }
  const columns: DigestColumn[] = [];
  // requests 1: the µs in brackets are the whole profile's time.
  for (const file of files) columns.push({ label: shortName(file), digest: digestProfile(await readProfile(file)), requests: 1, file });
  process.stdout.write(renderDigest('CPU profile digest (whole profiles)', columns, 'over the whole profile (start-up and warm-ups included), and in brackets the total time'));
}
