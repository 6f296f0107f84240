/**
 * Benchmark 1: update-info for up-to-date stations (the answer is 14 zero
 * bytes), 10,000 registered, on SQLite and PostgreSQL, against a bare node:http
 * (node:https) server answering the same 14 bytes. Three ways in: a new
 * connection per exchange (what stations do), keep-alive, and TLS with a full
 * handshake per exchange (what stations really do, PROTOCOL.md 7.4).
 *
 * The load generator is wrk (bench/wrk.ts) sending the stations' exact bytes.
 * Every bscups run is paired with a bare run of the same mode right before or
 * after it (the order alternates between trials), three trials: the ratio of
 * each pair is what is reported, as min / median / max, so a change in
 * background load between runs shows as spread instead of hiding in one number.
 */
import { NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { startServerChild, type ServerChild } from './child-server.js';
import { Cleanup, TC_URI, benchEui, openBenchRuntime, postgresRegistry, registerStations, sqliteRegistry, stationBytes, stationReport, tempDir, type BenchRegistry } from './fixtures.js';
import { runLoad } from './load.js';
import { childOptions, type BenchSettings } from './settings.js';
import { KeepAliveConnection, exchangeOnce } from './station-client.js';
import { met, num, pct, type Table } from './table.js';
import { benchTls } from './tls-material.js';
import { ensureWrk, runWrk, writeWrkScript, type WrkResult } from './wrk.js';

type Mode = 'new connection' | 'keep-alive' | 'TLS, new connection';
const MODES: readonly Mode[] = ['new connection', 'keep-alive', 'TLS, new connection'];
/** Median ratio to bare the issue asks for; PostgreSQL is held to the new-connection target only. */
const TARGETS: Readonly<Record<string, Partial<Record<Mode, number>>>> = {
  SQLite: { 'new connection': 0.65, 'keep-alive': 0.5, 'TLS, new connection': 0.75 },
  PostgreSQL: { 'new connection': 0.35 },
};
/** What the stations report as their CUPS URI; none is desired, so it is never sent. */
const REPORTED_CUPS_URI = 'https://cups.example.com:443';

interface Plan {
  readonly stations: number;
  readonly connections: number;
  readonly trials: number;
  readonly warmSeconds: number;
  readonly measureSeconds: number;
}

interface Run {
  readonly wrk: WrkResult;
  /** Server CPU µs per answered request during the measured run. */
  readonly cpuPerRequest: number;
}

interface Pair {
  readonly registry: string;
  readonly mode: Mode;
  readonly bare: Run;
  readonly cups: Run;
}

/** The four servers of a registry's runs: bare and bscups, plain and TLS. */
interface Servers {
  readonly plain: ServerChild;
  readonly tls: ServerChild;
}

export async function runUpdateInfo(settings: BenchSettings): Promise<Table> {
  ensureWrk(settings.log);
  const plan: Plan = settings.quick
    ? { stations: 2_000, connections: 32, trials: 3, warmSeconds: 1, measureSeconds: 2 }
    : { stations: 10_000, connections: 32, trials: 3, warmSeconds: 1, measureSeconds: 5 };
  const pairs: Pair[] = [];
  const skipped: string[] = [];
  let resumed = 0;
  const cleanup = new Cleanup();
  try {
    const dir = await tempDir(cleanup, 'update-info');
    const tls = await benchTls(dir);
    const nothing = NOTHING_TO_CHANGE.toString('hex');
    const bare: Servers = {
      plain: await startServerChild({ kind: 'bare-bytes', bodyHex: nothing }, childOptions(settings, false)),
      tls: await startServerChild({ kind: 'bare-bytes', bodyHex: nothing, tls }, childOptions(settings, false)),
    };
    cleanup.add(() => Promise.all([bare.plain.stop(), bare.tls.stop()]));
    const registries: BenchRegistry[] = [sqliteRegistry(dir)];
    const pg = await postgresRegistry(cleanup);
    if ('unavailable' in pg) skipped.push(pg.unavailable);
    else registries.push(pg);

    for (const registry of registries) {
      settings.log(`update-info: ${num(plan.stations)} stations on ${registry.label}, first report of each`);
      await prepareRegistry(registry, `${dir}/blobs`, plan, settings);
      // Started after the first reports, so each loads the whole fleet into its cache as a server does at start.
      const cups: Servers = {
        plain: await startServerChild({ kind: 'cups', database: registry.database, blobs: `${dir}/blobs`, logLevel: 'info' }, childOptions(settings, true)),
        tls: await startServerChild({ kind: 'cups', database: registry.database, blobs: `${dir}/blobs`, logLevel: 'info', tls }, childOptions(settings, true)),
      };
      try {
        for (const servers of [bare, cups]) {
          await expectNothingToChange(servers.plain.port, plan.stations);
          await expectNothingToChange(servers.tls.port, plan.stations, tls.caPem);
        }
        const scripts = await writeScripts(dir, registry.label, { bare, cups }, plan.stations);
        for (let trial = 1; trial <= plan.trials; trial++) {
          for (const mode of MODES) {
            settings.log(`update-info: ${registry.label}, ${mode}, trial ${trial}/${plan.trials}`);
            const runBare = () => measure(bare, mode, scripts.bare, plan);
            const runCups = () => measure(cups, mode, scripts.cups, plan);
            // Alternate who goes first, so a drift in background load does not always favour the same side.
            const [first, second] = trial % 2 === 1 ? [runBare, runCups] : [runCups, runBare];
            const a = await first();
            const b = await second();
            pairs.push({ registry: registry.label, mode, ...(trial % 2 === 1 ? { bare: a, cups: b } : { bare: b, cups: a }) });
          }
        }
      } finally {
        await Promise.all([cups.plain.stop(), cups.tls.stop()]);
      }
    }
    resumed = (await bare.tls.stats()).resumedHandshakes ?? 0;
  } finally {
    await cleanup.run();
  }
  return table(plan, pairs, skipped, resumed);
}

/** Registers the stations and has each report once (untimed), so every measured poll is a steady-state, up-to-date one. */
async function prepareRegistry(registry: BenchRegistry, blobs: string, plan: Plan, settings: BenchSettings): Promise<void> {
  const runtime = await openBenchRuntime(registry.database, blobs);
  try {
    await registerStations(runtime.registry, Array.from({ length: plan.stations }, (_, i) => ({ eui: benchEui(i), desired: { tcUri: TC_URI } })));
  } finally {
    await runtime.close();
  }
  const child = await startServerChild({ kind: 'cups', database: registry.database, blobs, logLevel: 'warn' }, childOptions(settings, false));
  try {
    const requests = Array.from({ length: plan.stations }, (_, i) => request(child.port, i));
    const connections = Array.from({ length: 16 }, () => new KeepAliveConnection(child.port));
    try {
      const first = await runLoad({
        concurrency: connections.length,
        durationMs: 600_000,
        maxRequests: plan.stations,
        exchange: async (i, w) => {
          const a = await (connections[w] as KeepAliveConnection).exchange(requests[i] as Buffer, { keepPrefix: 15 });
          return a.status === 200 ? undefined : `HTTP ${a.status}`;
        },
      });
      if (first.ok !== plan.stations) throw new Error(`first report of every station: ${first.errors} failed (${first.errorSamples.join('; ')})`);
    } finally {
      for (const c of connections) c.close();
    }
  } finally {
    await child.stop();
  }
}

/** Station i's exact request to a server on `port`, reporting exactly its desired state. */
function request(port: number, i: number, headerLines?: string): Buffer {
  return stationBytes(port, stationReport(benchEui(i), { cupsUri: REPORTED_CUPS_URI, tcUri: TC_URI, package: '1.0.0' }), headerLines);
}

/** The wrk scripts per server and mode: station bytes, plus `Connection: close` where each exchange needs a new connection. */
async function writeScripts(dir: string, label: string, servers: { bare: Servers; cups: Servers }, stations: number) {
  const scriptsFor = async (name: string, s: Servers): Promise<Record<Mode, string>> => {
    const all = (port: number, close: boolean) => Array.from({ length: stations }, (_, i) => request(port, i, close ? 'Connection: close\r\n' : undefined));
    return {
      'new connection': await writeWrkScript(dir, `${label}-${name}-close`, all(s.plain.port, true)),
      'keep-alive': await writeWrkScript(dir, `${label}-${name}-keep`, all(s.plain.port, false)),
      'TLS, new connection': await writeWrkScript(dir, `${label}-${name}-tls`, all(s.tls.port, true)),
    };
  };
  return { bare: await scriptsFor('bare', servers.bare), cups: await scriptsFor('cups', servers.cups) };
}

/** Makes sure the bench measures the right path: the answers must be the 14 zero bytes. */
async function expectNothingToChange(port: number, stations: number, tlsCa?: string): Promise<void> {
  for (const i of [0, Math.floor(stations / 2), stations - 1]) {
    const a = await exchangeOnce(port, request(port, i), { keepPrefix: 64, ...(tlsCa === undefined ? {} : { tlsCa }) });
    if (a.status !== 200) throw new Error(`update-info bench would measure the wrong path: HTTP ${a.status}: ${a.prefix.toString('latin1').trim()}`);
    if (!a.prefix.equals(NOTHING_TO_CHANGE)) throw new Error(`update-info bench would measure the wrong path: answer ${a.prefix.toString('hex')} is not the 14 zero bytes`);
  }
}

async function measure(servers: Servers, mode: Mode, scripts: Record<Mode, string>, plan: Plan): Promise<Run> {
  const child = mode === 'TLS, new connection' ? servers.tls : servers.plain;
  const url = `${mode === 'TLS, new connection' ? 'https' : 'http'}://127.0.0.1:${child.port}/update-info`;
  const options = { url, script: scripts[mode], connections: plan.connections };
  // Untimed warm-up at the same load: JIT, caches and connection pools settle.
  await runWrk({ ...options, seconds: plan.warmSeconds });
  const before = await child.stats();
  const wrk = await runWrk({ ...options, seconds: plan.measureSeconds });
  const after = await child.stats();
  return { wrk, cpuPerRequest: (after.cpuMicros - before.cpuMicros) / Math.max(1, wrk.requests) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function table(plan: Plan, pairs: readonly Pair[], skipped: readonly string[], resumed: number): Table {
  const groups = new Map<string, Pair[]>();
  for (const p of pairs) {
    const key = `${p.registry}|${p.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const rows = [...groups.values()].map((group) => {
    const { registry, mode } = group[0] as Pair;
    const ratios = group.map((p) => p.cups.wrk.rate / p.bare.wrk.rate);
    const mid = median(ratios);
    const middle = group[ratios.indexOf([...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)] as number)] as Pair;
    const errors = group.reduce((n, p) => n + p.bare.wrk.errors + p.cups.wrk.errors, 0);
    const target = TARGETS[registry]?.[mode];
    return [
      registry,
      mode,
      num(median(group.map((p) => p.bare.wrk.rate))),
      num(median(group.map((p) => p.cups.wrk.rate))),
      num(middle.cups.wrk.p50Ms, 2),
      num(middle.cups.wrk.p99Ms, 2),
      num(median(group.map((p) => p.bare.cpuPerRequest))),
      num(median(group.map((p) => p.cups.cpuPerRequest))),
      num(errors),
      `${pct(Math.min(...ratios))} / **${pct(mid)}** / ${pct(Math.max(...ratios))}`,
      target === undefined ? '—' : `≥ ${pct(target)}`,
      target === undefined ? '—' : met(mid >= target && errors === 0, `${pct(mid)}${errors > 0 ? `, ${errors} errors` : ''}`),
    ];
  });
  const errorNotes = pairs
    .flatMap((p) => [['bare', p.bare] as const, ['bscups', p.cups] as const].map(([who, r]) => ({ p, who, r })))
    .filter(({ r }) => r.wrk.errors > 0)
    .map(({ p, who, r }) => `errors, ${who} ${p.registry} ${p.mode}: ${r.wrk.errorDetail}`);
  return {
    title: `update-info, up-to-date station (${num(plan.stations)} registered), ratio to bare in ${plan.trials} interleaved pairs`,
    columns: ['registry', 'connections', 'bare req/s', 'bscups req/s', 'bscups p50 ms', 'bscups p99 ms', 'bare CPU µs/req', 'bscups CPU µs/req', 'errors', 'vs bare min / **median** / max', 'target (median)', 'met?'],
    rows,
    notes: [
      `Load generator: wrk, one thread, ${plan.connections} connections, sending the exact station bytes (PROTOCOL.md 1) of each of the ${num(plan.stations)} registered stations in turn from a Lua script; each station reports exactly its desired state, and answers were checked to be the 14 zero bytes before measuring.`,
      '"new connection": the station bytes plus a `Connection: close` line (wrk reconnects only when told), so every exchange is connect, send, read, close, as a station does. "keep-alive": the exact bytes on persistent connections. "TLS, new connection": the same as the first over HTTPS, a full handshake per exchange (P-256 server certificate; neither server issues session tickets' + (resumed === 0 ? ', and the bare server saw 0 resumed handshakes' : `; **the bare server saw ${resumed} resumed handshakes**`) + ').',
      `Each pair is one bare run and one bscups run of the same mode back to back (the order alternating between trials), each ${plan.warmSeconds} s untimed warm-up then ${plan.measureSeconds} s measured; the ratio of each pair's req/s is what is reported. req/s, CPU and latency columns are medians over the ${plan.trials} trials (latency from the median pair).`,
      'Before the runs every station reported once (untimed), then the bscups servers were started, so each loaded the fleet into its registry cache as a server does at start. A plain and a TLS bscups server run at once on the same registry (two replicas); bare servers answer the 14 bytes after reading the request. bscups logs at info to /dev/null.',
      'Server CPU µs/req: the server process only (not PostgreSQL). Servers and wrk share the same cores; anything else running lowers every number, which the min–max spread shows.',
      ...skipped.map((s) => `PostgreSQL skipped: ${s}.`),
      ...errorNotes,
    ],
  };
}
