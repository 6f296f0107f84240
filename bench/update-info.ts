/**
 * Benchmark 1: update-info for up-to-date stations (the answer is 14 zero
 * bytes), 10,000 registered, on SQLite and PostgreSQL, against a bare node:http
 * (node:https) server answering the same 14 bytes. Three ways in: a new
 * connection per exchange (what stations do), keep-alive, and TLS with a full
 * handshake per exchange (what stations really do, PROTOCOL.md 7.4).
 *
 * Over TLS the stations authenticate as real ones do: each of them has its own
 * CUPS token, registered by its hash, and sends it as its header line
 * (PROTOCOL.md 4.3); the bscups TLS server runs as in production, refusing a
 * station without its credential. Over plain HTTP a token would be refused (and
 * marked compromised) by design, so the plain rows use another set of as many
 * stations without credentials, on a server that allows them (a test setup).
 *
 * The load generator is wrk (bench/wrk.ts) sending the stations' exact bytes.
 * Every bscups run is paired with a bare run of the same mode right before or
 * after it (the order alternates between trials), three trials: the ratio of
 * each pair is what is reported, as min / median / max, so a change in
 * background load between runs shows as spread instead of hiding in one number.
 */
import { NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { startServerChild, type ServerChild } from './child-server.js';
import {
  Cleanup,
  TC_URI,
  benchEui,
  benchTokens,
  openBenchRuntime,
  postgresRegistry,
  registerStations,
  registerTokenStations,
  sqliteRegistry,
  stationBytes,
  stationReport,
  tempDir,
  type BenchRegistry,
  type BenchToken,
} from './fixtures.js';
import { runLoad } from './load.js';
import { digestProfile, findProfile, readProfile, renderDigest, type DigestColumn, type Window } from './profile-digest.js';
import { childOptions, type BenchSettings } from './settings.js';
import { KeepAliveConnection, exchangeOnce } from './station-client.js';
import { met, num, pct, type Table } from './table.js';
import { benchTls } from './tls-material.js';
import { ensureWrk, runWrk, writeWrkScript, type WrkResult } from './wrk.js';

type BenchTls = Awaited<ReturnType<typeof benchTls>>;

type Mode = 'new connection' | 'keep-alive' | 'TLS, new connection';
const MODES: readonly Mode[] = ['new connection', 'keep-alive', 'TLS, new connection'];
/** Median ratio to bare the issue asks for; PostgreSQL is held to the new-connection target only. */
const TARGETS: Readonly<Record<string, Partial<Record<Mode, number>>>> = {
  SQLite: { 'new connection': 0.65, 'keep-alive': 0.5, 'TLS, new connection': 0.75 },
  PostgreSQL: { 'new connection': 0.35 },
};
/** What the stations report as their CUPS URI; none is desired, so it is never sent. */
const REPORTED_CUPS_URI = 'https://cups.example.com:443';
/**
 * Setup exchanges per station before anything is measured: its first report, then
 * enough further calls for its gateway health to settle (core/health.ts: the
 * second early call in a row makes it lns_failing, and from then on a call on that
 * beat changes nothing). Stations calling every few milliseconds are early calls by
 * definition; a steady health, early or regular, is the same timestamp comparison
 * on the memory path, so what is measured is the up-to-date poll of a fleet whose
 * health is steady, as in production between changes.
 */
const SETTLE_ROUNDS = 3;
/** Token station i is benchEui(TOKEN_STATIONS + i): apart from the plain stations 0…n-1. */
const TOKEN_STATIONS = 1_000_000;

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
  /** The measured run on the server's monotonic clock, to pick its samples out of a CPU profile. */
  readonly window: Window;
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
  const profiles: DigestColumn[] = [];
  const profileNotes: string[] = [];
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
      settings.log(`update-info: ${num(plan.stations)} plain and ${num(plan.stations)} token stations on ${registry.label}, first report of each`);
      const tokens = await prepareRegistry(registry, `${dir}/blobs`, plan, tls, settings);
      // Started after the first reports, so each loads the whole fleet into its cache as a server does at start.
      const cups: Servers = {
        plain: await startServerChild({ kind: 'cups', database: registry.database, blobs: `${dir}/blobs`, logLevel: 'info' }, childOptions(settings, true)),
        tls: await startServerChild(
          { kind: 'cups', database: registry.database, blobs: `${dir}/blobs`, logLevel: 'info', tls, allowUnauthenticated: false },
          childOptions(settings, true),
        ),
      };
      const first = pairs.length;
      try {
        for (const servers of [bare, cups]) {
          await expectNothingToChange(servers.plain.port, plan.stations);
          await expectNothingToChange(servers.tls.port, plan.stations, { ca: tls.caPem, tokens });
        }
        await expectTokensChecked(cups.tls.port, tls.caPem, tokens);
        const scripts = await writeScripts(dir, registry.label, { bare, cups }, plan.stations, tokens);
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
      if (settings.cpuProfDir !== undefined) {
        const digest = await digestRows(settings.cpuProfDir, cups, pairs.slice(first));
        profiles.push(...digest.columns);
        profileNotes.push(...digest.notes);
      }
    }
    resumed = (await bare.tls.stats()).resumedHandshakes ?? 0;
  } finally {
    await cleanup.run();
  }
  const digest = renderDigest('Where the bscups server spends its time (update-info, CPU profile of each row\'s measured runs)', profiles);
  const appendix = [digest, ...profileNotes.map((n) => `- ${n}`)].filter((t) => t !== '').join('\n');
  if (settings.cpuProfDir !== undefined) settings.log(`update-info: CPU profile digest of the bscups servers printed under the table (profiles in ${settings.cpuProfDir})`);
  return { ...table(plan, pairs, skipped, resumed), ...(appendix === '' ? {} : { appendix }) };
}

/** The profile digest of each mode's measured bscups runs, from the profiles its two servers wrote when they stopped. */
async function digestRows(dir: string, cups: Servers, pairs: readonly Pair[]): Promise<{ columns: DigestColumn[]; notes: string[] }> {
  const columns: DigestColumn[] = [];
  const notes: string[] = [];
  for (const mode of MODES) {
    const runs = pairs.filter((p) => p.mode === mode);
    const registry = runs[0]?.registry ?? '?';
    const child = mode === 'TLS, new connection' ? cups.tls : cups.plain;
    const file = await findProfile(dir, child.pid);
    if (file === undefined) {
      notes.push(`no CPU profile found in ${dir} for the ${registry} ${mode} server (pid ${child.pid})`);
      continue;
    }
    const profile = await readProfile(file);
    const windows = runs.map((p) => p.cups.window);
    const digest = digestProfile(profile, windows);
    if (digest.micros === 0) {
      notes.push(`${registry} ${mode}: no samples of ${file} fall in the measured runs (profile ${profile.startTime}–${profile.endTime} µs, runs ${windows.map((w) => `${w.from}–${w.to}`).join(', ')})`);
      continue;
    }
    columns.push({ label: `${registry}, ${mode}`, digest, requests: runs.reduce((n, p) => n + p.cups.wrk.requests, 0), file });
  }
  return { columns, notes };
}

/**
 * Registers the plain stations and the token stations (each with its own token) and has each
 * report once (untimed), so every measured poll is a steady-state, up-to-date one. Returns the
 * token stations' tokens, in order.
 */
async function prepareRegistry(registry: BenchRegistry, blobs: string, plan: Plan, tls: BenchTls, settings: BenchSettings): Promise<BenchToken[]> {
  const step = stepTimer(settings, registry.label);
  const runtime = await openBenchRuntime(registry.database, blobs);
  let tokens: BenchToken[];
  try {
    await registerStations(runtime, Array.from({ length: plan.stations }, (_, i) => ({ eui: benchEui(i), desired: { tcUri: TC_URI } })));
    tokens = benchTokens(plan.stations, tls.caDer);
    await registerTokenStations(
      runtime,
      Array.from({ length: plan.stations }, (_, i) => benchEui(TOKEN_STATIONS + i)),
      tokens,
      TC_URI,
    );
    step('stations registered, tokens stored');
  } finally {
    await runtime.close();
  }
  await Promise.all([firstReportsPlain(registry, blobs, plan, settings), firstReportsTls(registry, blobs, plan, tls, tokens, settings)]);
  step('first reports done');
  return tokens;
}

/** Logs how long each setup step took (setup is untimed, but a slow database shows here). */
function stepTimer(settings: BenchSettings, label: string): (what: string) => void {
  let last = Date.now();
  return (what) => {
    const now = Date.now();
    settings.log(`update-info: ${label}: ${what} in ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
  };
}

/** Each token station's first reports (SETTLE_ROUNDS of them), over TLS with its token, on a production server (no unauthenticated stations). */
async function firstReportsTls(registry: BenchRegistry, blobs: string, plan: Plan, tls: BenchTls, tokens: readonly BenchToken[], settings: BenchSettings): Promise<void> {
  const child = await startServerChild({ kind: 'cups', database: registry.database, blobs, logLevel: 'warn', tls, allowUnauthenticated: false }, childOptions(settings, false));
  try {
    // Keep-alive (untimed setup): the handshakes of a connection per station would make setup slower than the measurement.
    const connections = Array.from({ length: 16 }, () => new KeepAliveConnection(child.port, tls.caPem));
    let first;
    try {
      first = await runLoad({
        concurrency: connections.length,
        durationMs: 600_000,
        maxRequests: plan.stations * SETTLE_ROUNDS,
        exchange: async (n, w) => {
          const i = n % plan.stations;
          const a = await (connections[w] as KeepAliveConnection).exchange(tokenRequest(child.port, i, tokens[i] as BenchToken), { keepPrefix: 64 });
          return a.status === 200 ? undefined : `HTTP ${a.status}: ${a.prefix.toString('latin1').trim()}`;
        },
      });
    } finally {
      for (const c of connections) c.close();
    }
    if (first.ok !== plan.stations * SETTLE_ROUNDS) throw new Error(`first reports of every token station over TLS: ${first.errors} failed (${first.errorSamples.join('; ')})`);
  } finally {
    await child.stop();
  }
}

/** Each plain station's first reports (SETTLE_ROUNDS of them), without credentials, over plain HTTP. */
async function firstReportsPlain(registry: BenchRegistry, blobs: string, plan: Plan, settings: BenchSettings): Promise<void> {
  const child = await startServerChild({ kind: 'cups', database: registry.database, blobs, logLevel: 'warn' }, childOptions(settings, false));
  try {
    const requests = Array.from({ length: plan.stations }, (_, i) => request(child.port, i));
    const connections = Array.from({ length: 16 }, () => new KeepAliveConnection(child.port));
    try {
      const first = await runLoad({
        concurrency: connections.length,
        durationMs: 600_000,
        maxRequests: plan.stations * SETTLE_ROUNDS,
        exchange: async (n, w) => {
          const a = await (connections[w] as KeepAliveConnection).exchange(requests[n % plan.stations] as Buffer, { keepPrefix: 15 });
          return a.status === 200 ? undefined : `HTTP ${a.status}`;
        },
      });
      if (first.ok !== plan.stations * SETTLE_ROUNDS) throw new Error(`first reports of every station: ${first.errors} failed (${first.errorSamples.join('; ')})`);
    } finally {
      for (const c of connections) c.close();
    }
  } finally {
    await child.stop();
  }
}

/** Plain station i's exact request to a server on `port`, reporting exactly its desired state. */
function request(port: number, i: number, headerLines?: string): Buffer {
  return stationBytes(port, stationReport(benchEui(i), { cupsUri: REPORTED_CUPS_URI, tcUri: TC_URI, package: '1.0.0' }), headerLines);
}

/** Token station i's exact request: its token header line (PROTOCOL.md 4.3), and the CRC of the credential holding it. */
function tokenRequest(port: number, i: number, token: BenchToken, headerLines = ''): Buffer {
  const report = stationReport(benchEui(TOKEN_STATIONS + i), { cupsUri: REPORTED_CUPS_URI, tcUri: TC_URI, package: '1.0.0', cupsCredCrc: token.credCrc });
  return stationBytes(port, report, `${token.headerLine}\r\n${headerLines}`);
}

/**
 * The wrk scripts per server and mode: station bytes, plus `Connection: close` where each exchange needs a new
 * connection; over TLS the token stations' bytes with their tokens. Bare and bscups get the same bytes.
 */
async function writeScripts(dir: string, label: string, servers: { bare: Servers; cups: Servers }, stations: number, tokens: readonly BenchToken[]) {
  const close = 'Connection: close\r\n';
  const scriptsFor = async (name: string, s: Servers): Promise<Record<Mode, string>> => {
    const all = (port: number, closing: boolean) => Array.from({ length: stations }, (_, i) => request(port, i, closing ? close : undefined));
    return {
      'new connection': await writeWrkScript(dir, `${label}-${name}-close`, all(s.plain.port, true)),
      'keep-alive': await writeWrkScript(dir, `${label}-${name}-keep`, all(s.plain.port, false)),
      'TLS, new connection': await writeWrkScript(dir, `${label}-${name}-tls`, Array.from({ length: stations }, (_, i) => tokenRequest(s.tls.port, i, tokens[i] as BenchToken, close))),
    };
  };
  return { bare: await scriptsFor('bare', servers.bare), cups: await scriptsFor('cups', servers.cups) };
}

/** Makes sure the bench measures the right path: the answers must be the 14 zero bytes (over TLS, to the token stations' bytes). */
async function expectNothingToChange(port: number, stations: number, tls?: { readonly ca: string; readonly tokens: readonly BenchToken[] }): Promise<void> {
  for (const i of [0, Math.floor(stations / 2), stations - 1]) {
    const bytes = tls === undefined ? request(port, i) : tokenRequest(port, i, tls.tokens[i] as BenchToken);
    const a = await exchangeOnce(port, bytes, { keepPrefix: 64, ...(tls === undefined ? {} : { tlsCa: tls.ca }) });
    if (a.status !== 200) throw new Error(`update-info bench would measure the wrong path: HTTP ${a.status}: ${a.prefix.toString('latin1').trim()}`);
    if (!a.prefix.equals(NOTHING_TO_CHANGE)) throw new Error(`update-info bench would measure the wrong path: answer ${a.prefix.toString('hex')} is not the 14 zero bytes`);
  }
}

/**
 * Makes sure the TLS server really checks the tokens it is measured with: a token station is refused without its
 * token (401) and with another station's token (403), and answered with its own.
 */
async function expectTokensChecked(port: number, ca: string, tokens: readonly BenchToken[]): Promise<void> {
  const own = tokens[0] as BenchToken;
  const other = tokens[1] as BenchToken;
  const cases: { what: string; bytes: Buffer; status: number }[] = [
    { what: 'without its token', bytes: stationBytes(port, stationReport(benchEui(TOKEN_STATIONS), { cupsUri: REPORTED_CUPS_URI, tcUri: TC_URI, package: '1.0.0', cupsCredCrc: own.credCrc })), status: 401 },
    {
      what: "with another station's token",
      bytes: stationBytes(port, stationReport(benchEui(TOKEN_STATIONS), { cupsUri: REPORTED_CUPS_URI, tcUri: TC_URI, package: '1.0.0', cupsCredCrc: own.credCrc }), `${other.headerLine}\r\n`),
      status: 403,
    },
    { what: 'with its own token', bytes: tokenRequest(port, 0, own), status: 200 },
  ];
  for (const c of cases) {
    const a = await exchangeOnce(port, c.bytes, { keepPrefix: 200, tlsCa: ca });
    if (a.status !== c.status) throw new Error(`update-info bench: a token station ${c.what} got HTTP ${a.status}, not ${c.status}: the TLS server does not check tokens as in production`);
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
  return { wrk, cpuPerRequest: (after.cpuMicros - before.cpuMicros) / Math.max(1, wrk.requests), window: { from: before.monoMicros, to: after.monoMicros } };
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
    title: `update-info, up-to-date station (${num(plan.stations)} stations per row, over TLS each with its own token), ratio to bare in ${plan.trials} interleaved pairs`,
    columns: ['registry', 'connections', 'bare req/s', 'bscups req/s', 'bscups p50 ms', 'bscups p99 ms', 'bare CPU µs/req', 'bscups CPU µs/req', 'errors', 'vs bare min / **median** / max', 'target (median)', 'met?'],
    rows,
    notes: [
      `Load generator: wrk, one thread, ${plan.connections} connections, sending the exact station bytes (PROTOCOL.md 1) of each of ${num(plan.stations)} registered stations in turn from a Lua script; each station reports exactly its desired state, and answers were checked to be the 14 zero bytes before measuring.`,
      '"new connection": the station bytes plus a `Connection: close` line (wrk reconnects only when told), so every exchange is connect, send, read, close, as a station does. "keep-alive": the exact bytes on persistent connections. "TLS, new connection": over HTTPS, a full handshake per exchange (P-256 server certificate; neither server issues session tickets' + (resumed === 0 ? ', and the bare server saw 0 resumed handshakes' : `; **the bare server saw ${resumed} resumed handshakes**`) + ').',
      `Authentication: over TLS the stations authenticate as real ones do. Each of ${num(plan.stations)} token stations has its own CUPS token (auth mode token, registered by bulk import, each token stored by its SHA-256 hash) and sends it as its \`Authorization: Bearer …\` header line (PROTOCOL.md 4.3), reporting the CRC of the credential that holds it; the bscups TLS server runs as in production (no unauthenticated stations), so every poll is a token-hash lookup and an auth check, and it was checked to refuse a station without its token (401) and with another station's token (403). The bare node:https server gets the same bytes, tokens included. The plain-HTTP rows use ${num(plan.stations)} other stations without credentials on a server started with allowUnauthenticated (a test setup): a token over plain HTTP is refused by design, so no station would send one. The registry holds both sets (${num(2 * plan.stations)} stations).`,
      `Each pair is one bare run and one bscups run of the same mode back to back (the order alternating between trials), each ${plan.warmSeconds} s untimed warm-up then ${plan.measureSeconds} s measured; the ratio of each pair's req/s is what is reported. req/s, CPU and latency columns are medians over the ${plan.trials} trials (latency from the median pair).`,
      'Before the runs every station reported three times (untimed; the token stations over TLS with their tokens), so its gateway health was steady, then the bscups servers were started, so each loaded the fleet into its registry cache as a server does at start. A plain and a TLS bscups server run at once on the same registry (two replicas); bare servers answer the 14 bytes after reading the request. bscups logs at info to /dev/null.',
      'Server CPU µs/req: the server process only (not PostgreSQL). Servers and wrk share the same cores; anything else running lowers every number, which the min–max spread shows.',
      ...skipped.map((s) => `PostgreSQL skipped: ${s}.`),
      ...errorNotes,
    ],
  };
}
