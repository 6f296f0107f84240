/**
 * Benchmark 1: update-info for up-to-date stations (the answer is 14 zero
 * bytes), 10,000 registered, on SQLite and PostgreSQL, against a bare node:http
 * server answering the same 14 bytes. New connection per exchange first (what
 * stations do), keep-alive second.
 */
import { NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { startServerChild, type ServerChild } from './child-server.js';
import {
  Cleanup,
  TC_URI,
  benchEui,
  openBenchRuntime,
  postgresRegistry,
  registerStations,
  sqliteRegistry,
  stationBytes,
  stationReport,
  tempDir,
  type BenchRegistry,
} from './fixtures.js';
import { runLoad, type LoadResult } from './load.js';
import { childOptions, type BenchSettings } from './settings.js';
import { KeepAliveConnection, exchangeOnce, type StationAnswer } from './station-client.js';
import { met, num, pct, type Table } from './table.js';

type Mode = 'new connection each' | 'keep-alive';
const MODES: readonly Mode[] = ['new connection each', 'keep-alive'];
const TARGET_RATIO = 0.5;

interface Plan {
  readonly stations: number;
  readonly concurrency: number;
  readonly warmMs: number;
  readonly measureMs: number;
}

interface Measured {
  readonly server: string;
  readonly registry: string;
  readonly mode: Mode;
  readonly load: LoadResult;
  /** CPU time of the server process during the measured run. */
  readonly cpuMicros: number;
  /** CPU time of the load generator (this process) during the measured run. */
  readonly clientCpuMicros: number;
}

/** Runs the benchmark and returns its table. */
export async function runUpdateInfo(settings: BenchSettings): Promise<Table> {
  const plan: Plan = settings.quick
    ? { stations: 2_000, concurrency: 32, warmMs: 500, measureMs: 2_000 }
    : { stations: 10_000, concurrency: 32, warmMs: 1_000, measureMs: 6_000 };
  const results: Measured[] = [];
  const skipped: string[] = [];
  const cleanup = new Cleanup();
  try {
    settings.log(`update-info: bare node:http, ${plan.concurrency} concurrent`);
    results.push(...(await measureBare(plan, settings)));
    const dir = await tempDir(cleanup, 'update-info');
    const pgRegistry = await postgresRegistry(cleanup);
    const registries: BenchRegistry[] = [sqliteRegistry(dir)];
    if ('unavailable' in pgRegistry) skipped.push(pgRegistry.unavailable);
    else registries.push(pgRegistry);
    for (const registry of registries) {
      settings.log(`update-info: bscups on ${registry.label}, ${num(plan.stations)} stations`);
      results.push(...(await measureCups(plan, registry, `${dir}/blobs`, settings)));
    }
  } finally {
    await cleanup.run();
  }
  return table(plan, results, skipped);
}

async function measureBare(plan: Plan, settings: BenchSettings): Promise<Measured[]> {
  const child = await startServerChild({ kind: 'bare-bytes', bodyHex: NOTHING_TO_CHANGE.toString('hex') }, childOptions(settings, false));
  try {
    const requests = buildRequests(child.port, plan.stations, `http://127.0.0.1:${child.port}`);
    await expectNothingToChange(child.port, requests);
    const out: Measured[] = [];
    for (const mode of MODES) out.push({ server: 'bare node:http', registry: '—', mode, ...(await measure(child, requests, plan, mode)) });
    return out;
  } finally {
    await child.stop();
  }
}

async function measureCups(plan: Plan, registry: BenchRegistry, blobs: string, settings: BenchSettings): Promise<Measured[]> {
  const child = await startServerChild(
    { kind: 'cups', database: registry.database, blobs, logLevel: 'info' },
    childOptions(settings, true),
  );
  try {
    const url = `http://127.0.0.1:${child.port}`;
    const runtime = await openBenchRuntime(registry.database, blobs);
    try {
      const stations = Array.from({ length: plan.stations }, (_, i) => ({ eui: benchEui(i), desired: { cupsUri: url, tcUri: TC_URI } }));
      await registerStations(runtime.registry, stations);
    } finally {
      await runtime.close();
    }
    const requests = buildRequests(child.port, plan.stations, url);
    await expectNothingToChange(child.port, requests);
    // Every station reports once, untimed, so each measured request is from a
    // station whose reported state is already stored: the steady-state poll.
    const first = await withExchange(child.port, requests, plan.concurrency, 'keep-alive', (exchange) =>
      runLoad({ concurrency: plan.concurrency, durationMs: 300_000, maxRequests: plan.stations, exchange }),
    );
    if (first.ok !== plan.stations) throw new Error(`first report of every station: ${first.errors} failed (${first.errorSamples.join('; ')})`);
    const out: Measured[] = [];
    for (const mode of MODES) out.push({ server: 'bscups', registry: registry.label, mode, ...(await measure(child, requests, plan, mode)) });
    return out;
  } finally {
    await child.stop();
  }
}

/** Request bytes for every station, each reporting exactly its desired state. */
function buildRequests(port: number, count: number, cupsUri: string): Buffer[] {
  return Array.from({ length: count }, (_, i) => stationBytes(port, stationReport(benchEui(i), { cupsUri, tcUri: TC_URI, package: '1.0.0' })));
}

/** Makes sure the bench measures the right path: the first answers must be the 14 zero bytes. */
async function expectNothingToChange(port: number, requests: readonly Buffer[]): Promise<void> {
  for (const request of requests.slice(0, 3)) {
    const problem = checkAnswer(await exchangeOnce(port, request, { keepPrefix: 64 }));
    if (problem !== undefined) throw new Error(`update-info bench would measure the wrong path: ${problem}`);
  }
}

function checkAnswer(a: StationAnswer): string | undefined {
  if (a.status !== 200) return `HTTP ${a.status}: ${a.prefix.toString('latin1').trim()}`;
  if (!a.prefix.equals(NOTHING_TO_CHANGE)) return `answer is ${a.contentLength} bytes (${a.prefix.toString('hex')}), not the 14 zero bytes`;
  return undefined;
}

type Exchange = (i: number, w: number) => Promise<string | undefined>;

/** Runs `work` with an exchange function for the mode; keep-alive connections (one per worker) are closed after. */
async function withExchange<T>(port: number, requests: readonly Buffer[], concurrency: number, mode: Mode, work: (exchange: Exchange) => Promise<T>): Promise<T> {
  const request = (i: number) => requests[i % requests.length] as Buffer;
  if (mode === 'new connection each') return work(async (i) => checkAnswer(await exchangeOnce(port, request(i), { keepPrefix: 15 })));
  const connections = Array.from({ length: concurrency }, () => new KeepAliveConnection(port));
  try {
    return await work(async (i, w) => checkAnswer(await (connections[w] as KeepAliveConnection).exchange(request(i), { keepPrefix: 15 })));
  } finally {
    for (const c of connections) c.close();
  }
}

async function measure(child: ServerChild, requests: readonly Buffer[], plan: Plan, mode: Mode): Promise<{ load: LoadResult; cpuMicros: number; clientCpuMicros: number }> {
  return withExchange(child.port, requests, plan.concurrency, mode, async (exchange) => {
    // Untimed warm-up at the same load, so the JIT and connection pools are settled.
    await runLoad({ concurrency: plan.concurrency, durationMs: plan.warmMs, maxRequests: 1_000_000, exchange });
    const before = await child.stats();
    const clientBefore = process.cpuUsage();
    // Offset so the measured requests do not start with the stations the warm-up just used.
    const load = await runLoad({ concurrency: plan.concurrency, durationMs: plan.measureMs, maxRequests: 2_000_000, exchange: (i, w) => exchange(i + 7_919, w) });
    const client = process.cpuUsage(clientBefore);
    const after = await child.stats();
    return { load, cpuMicros: after.cpuMicros - before.cpuMicros, clientCpuMicros: client.user + client.system };
  });
}

function table(plan: Plan, results: readonly Measured[], skipped: readonly string[]): Table {
  const rate = (m: Measured) => (m.load.ok / m.load.wallMs) * 1000;
  const rows = MODES.flatMap((mode) => {
    const bare = results.find((m) => m.mode === mode && m.registry === '—');
    return results
      .filter((m) => m.mode === mode)
      .map((m) => {
        const [p50 = NaN, p99 = NaN] = m.load.latency.percentiles(50, 99);
        const ratio = bare === undefined ? NaN : rate(m) / rate(bare);
        const isTarget = m.registry === 'SQLite';
        return [
          m.server,
          m.registry,
          mode,
          num(plan.concurrency),
          num(m.load.ok),
          num(rate(m)),
          num(p50, 2),
          num(p99, 2),
          num(m.cpuMicros / Math.max(1, m.load.ok)),
          num(m.clientCpuMicros / Math.max(1, m.load.ok)),
          num(m.load.errors),
          m.registry === '—' ? '100% (baseline)' : pct(ratio),
          isTarget ? `≥ ${pct(TARGET_RATIO)} of bare` : '—',
          isTarget ? met(ratio >= TARGET_RATIO && m.load.errors === 0, `${pct(ratio)} of bare${m.load.errors > 0 ? `, ${m.load.errors} errors` : ''}`) : '—',
        ];
      });
  });
  const errorNotes = results.filter((m) => m.load.errors > 0).map((m) => `errors on ${m.server} ${m.registry} ${m.mode}: ${m.load.errorSamples.join('; ')}`);
  return {
    title: `update-info, up-to-date station (${num(plan.stations)} registered)`,
    columns: ['server', 'registry', 'connections', 'concurrency', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'client CPU µs/req', 'errors', 'vs bare', 'target', 'met?'],
    rows,
    notes: [
      `Each request is the exact station bytes (PROTOCOL.md 1) of one of the ${num(plan.stations)} registered stations in turn, reporting exactly its desired state; every answer is checked to be the 14 zero bytes.`,
      '"new connection each": connect, send, read to Content-Length, close — what a real station does. "keep-alive": the same bytes on persistent connections.',
      `Closed loop, ${plan.concurrency} exchanges in flight, ${plan.warmMs / 1000} s untimed warm-up then ${plan.measureMs / 1000} s measured per row; before that every station reported once (untimed) so its state is stored.`,
      'Servers run in a child process (load generator in the parent, same 2-core box); bscups logs at info to /dev/null. CPU µs/req: "server" is the server process only (PostgreSQL backends not included), "client" is the load generator, which shares the same 2 cores.',
      ...skipped.map((s) => `PostgreSQL skipped: ${s}.`),
      ...errorNotes,
    ],
  };
}
