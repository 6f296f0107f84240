/**
 * Benchmark 3: the start-up storm (PROTOCOL.md 5.2): every station restarting
 * after an outage calls CUPS within about a minute. Here 10,000 registered
 * stations that never reported make their first request as fast as a bounded
 * number of open connections allows, over TLS with a full handshake each, as
 * stations do. Each is a fresh station with only cups.uri, so each is answered
 * its TC URI and its first report is written to the registry. Each station
 * authenticates as a real one over TLS does: with a CUPS token of its own
 * (PROTOCOL.md 4.3), on servers that refuse stations without credentials. A few
 * of them are the full station simulator (home folder, trust and token files,
 * apply the answer).
 * SQLite is served by one bscups process; PostgreSQL by two replicas, the
 * stations spread over both as a load balancer would.
 */
import { join } from 'node:path';
import { encodeResponse } from '../src/protocol/index.js';
import { createSimulatedStation, initStationHome, type SimulatedStation } from '../src/simulator/index.js';
import { startServerChild, type ServerChild } from './child-server.js';
import {
  Cleanup,
  TC_URI,
  benchEui,
  benchTokens,
  openBenchRuntime,
  postgresRegistry,
  registerTokenStations,
  sqliteRegistry,
  stationBytes,
  stationReport,
  tempDir,
  type BenchRegistry,
  type BenchToken,
} from './fixtures.js';
import { runLoad, type LoadResult } from './load.js';
import { childOptions, type BenchSettings } from './settings.js';
import { exchangeOnce } from './station-client.js';
import { met, num, pct, type Table } from './table.js';
import { benchTls } from './tls-material.js';

/** Open connections at once: what a load balancer in front of one small box would allow. */
const CONCURRENCY = 256;
/** How many of the stations are the full simulator rather than raw request bytes. */
const SIMULATED = 4;
/** The whole storm must be over within this; a real station's exchange timeout is 60 s. */
const STORM_LIMIT_MS = 300_000;

type Tls = Awaited<ReturnType<typeof benchTls>>;

interface Measured {
  readonly server: string;
  readonly registry: string;
  readonly replicas: number;
  readonly load: LoadResult;
  /** Stations the registry shows as seen with a stored report after the storm (bscups only). */
  readonly recorded?: number;
}

export async function runStorm(settings: BenchSettings): Promise<Table> {
  const stations = settings.quick ? 2_000 : 10_000;
  const answer = encodeResponse({ tcUri: TC_URI });
  const results: Measured[] = [];
  const skipped: string[] = [];
  const cleanup = new Cleanup();
  try {
    const dir = await tempDir(cleanup, 'storm');
    const tls = await benchTls(dir);
    // The same stations, tokens and bytes for every server; each registry stores the tokens' hashes.
    const tokens = benchTokens(stations, tls.caDer);
    settings.log(`storm: bare node:https, ${num(stations)} stations, ${CONCURRENCY} connections`);
    results.push(await measureBare(stations, answer, tls, tokens, join(dir, 'bare-homes'), settings));
    const pgRegistry = await postgresRegistry(cleanup);
    const runs: { registry: BenchRegistry; replicas: number }[] = [{ registry: sqliteRegistry(dir), replicas: 1 }];
    if ('unavailable' in pgRegistry) skipped.push(pgRegistry.unavailable);
    else runs.push({ registry: pgRegistry, replicas: 2 });
    for (const { registry, replicas } of runs) {
      settings.log(`storm: bscups on ${registry.label} (${replicas} replica${replicas > 1 ? 's' : ''}), ${num(stations)} stations, ${CONCURRENCY} connections`);
      results.push(await measureCups(stations, answer, registry, replicas, tls, tokens, dir, settings));
    }
  } finally {
    await cleanup.run();
  }
  return table(stations, results, skipped);
}

async function measureBare(stations: number, answer: Buffer, tls: Tls, tokens: readonly BenchToken[], homes: string, settings: BenchSettings): Promise<Measured> {
  const child = await startServerChild({ kind: 'bare-bytes', bodyHex: answer.toString('hex'), tls }, childOptions(settings, false));
  try {
    return { server: 'bare node:https', registry: '—', replicas: 1, load: await storm([child], stations, answer, tls, tokens, homes) };
  } finally {
    await child.stop();
  }
}

async function measureCups(
  stations: number,
  answer: Buffer,
  registry: BenchRegistry,
  replicas: number,
  tls: Tls,
  tokens: readonly BenchToken[],
  dir: string,
  settings: BenchSettings,
): Promise<Measured> {
  const blobs = join(dir, 'blobs');
  // Registered before the servers start: the stations were there long before the outage.
  const runtime = await openBenchRuntime(registry.database, blobs);
  try {
    await registerTokenStations(runtime, Array.from({ length: stations }, (_, i) => benchEui(i)), tokens, TC_URI);
  } finally {
    await runtime.close();
  }
  // As in production: a station without its credential is refused.
  const spec = { kind: 'cups', database: registry.database, blobs, logLevel: 'info', tls, allowUnauthenticated: false } as const;
  const children = await Promise.all(Array.from({ length: replicas }, () => startServerChild(spec, childOptions(settings, true))));
  try {
    const load = await storm(children, stations, answer, tls, tokens, join(dir, `${registry.label}-homes`));
    const check = await openBenchRuntime(registry.database, blobs);
    try {
      const recorded = (await check.registry.listStations()).filter((s) => s.lastSeenAt !== null && s.reported?.tcUri === null).length;
      return { server: 'bscups', registry: registry.label, replicas, load, recorded };
    } finally {
      await check.close();
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

/**
 * Every station's first request, each exactly once over a new TLS connection,
 * CONCURRENCY at a time, station i to server i mod n; every answer must be the
 * TC URI update, byte for byte.
 */
async function storm(servers: readonly ServerChild[], stations: number, answer: Buffer, tls: Tls, tokens: readonly BenchToken[], homes: string): Promise<LoadResult> {
  const portOf = (i: number) => (servers[i % servers.length] as ServerChild).port;
  const simulated = new Map<number, SimulatedStation>();
  for (let k = 0; k < SIMULATED; k++) {
    const i = Math.floor((k * stations) / SIMULATED);
    const home = join(homes, String(i));
    const token = tokens[i] as BenchToken;
    await initStationHome(home, { cupsUri: `https://127.0.0.1:${portOf(i)}`, version: '1.0.0', cupsTrust: tls.caDer, cupsKey: Buffer.from(token.headerLine, 'latin1') });
    simulated.set(i, createSimulatedStation({ home, eui: benchEui(i) }));
  }
  // Each station's exact bytes: its token header line, and the CRC of the credential holding it.
  const requests = Array.from({ length: stations }, (_, i) => {
    const token = tokens[i] as BenchToken;
    const report = stationReport(benchEui(i), { cupsUri: `https://127.0.0.1:${portOf(i)}`, tcUri: null, package: '1.0.0', cupsCredCrc: token.credCrc });
    return stationBytes(portOf(i), report, `${token.headerLine}\r\n`);
  });
  return runLoad({
    concurrency: CONCURRENCY,
    durationMs: STORM_LIMIT_MS,
    maxRequests: stations,
    maxErrors: stations,
    exchange: async (i) => {
      const sim = simulated.get(i);
      if (sim !== undefined) {
        const r = await sim.exchange();
        return r.ok && r.applied.includes('tcUri') ? undefined : `simulated station ${benchEui(i)}: ${r.error ?? `applied ${r.applied.join(',') || 'nothing'}`}`;
      }
      const a = await exchangeOnce(portOf(i), requests[i] as Buffer, { keepPrefix: answer.length + 1, idleTimeoutMs: 60_000, tlsCa: tls.caPem });
      if (a.status !== 200) return `HTTP ${a.status}: ${a.prefix.toString('latin1').trim()}`;
      if (!a.prefix.equals(answer)) return `answer ${a.prefix.toString('hex')} is not the TC URI update ${answer.toString('hex')}`;
      return undefined;
    },
  });
}

function table(stations: number, results: readonly Measured[], skipped: readonly string[]): Table {
  const rate = (m: Measured) => (m.load.ok / m.load.wallMs) * 1000;
  const bare = results[0] as Measured;
  const rows = results.map((m) => {
    const [p50 = NaN, p99 = NaN] = m.load.latency.percentiles(50, 99);
    const isBare = m === bare;
    const unanswered = stations - m.load.ok - m.load.errors;
    const failed = m.load.errors + unanswered;
    const missing = m.recorded === undefined ? 0 : stations - m.recorded;
    return [
      m.server,
      m.registry,
      num(m.replicas),
      num(stations),
      num(CONCURRENCY),
      num(m.load.wallMs / 1000, 2),
      isBare ? '1.00×' : `${num(m.load.wallMs / bare.load.wallMs, 2)}×`,
      num(rate(m)),
      num(p50, 1),
      num(p99, 1),
      num(failed),
      m.recorded === undefined ? '—' : `${num(m.recorded)} / ${num(stations)}`,
      isBare ? '100% (baseline)' : pct(rate(m) / rate(bare)),
      '0 errors',
      met(failed === 0 && missing === 0, `${failed} errors${missing > 0 ? `, ${missing} first reports not recorded` : ''}`),
    ];
  });
  const errorNotes = results.filter((m) => m.load.errors > 0).map((m) => `errors on ${m.server} ${m.registry}: ${m.load.errorSamples.join('; ')}`);
  return {
    title: `start-up storm over TLS (${num(stations)} stations, first request each, full handshake each)`,
    columns: ['server', 'registry', 'replicas', 'stations', 'open connections', 'time to serve all s', 'time vs bare', 'stations/s', 'p50 ms', 'p99 ms', 'errors', 'first reports recorded', 'rate vs bare', 'target', 'met?'],
    rows,
    notes: [
      `${num(stations)} registered stations that never reported each send their first request once, on a new TLS connection (full handshake, no session offered), at most ${CONCURRENCY} open at a time (a load balancer's connection cap); ${SIMULATED} of them are the full station simulator with a cups.trust and a cups.key holding its token, the rest send the exact station bytes from this process.`,
      'Each station authenticates with a CUPS token of its own (auth mode token, bulk-imported, each token stored by its hash), sent as its `Authorization: Bearer …` header line (PROTOCOL.md 4.3); the bscups servers refuse stations without credentials, as in production. The bare server gets the same bytes.',
      'Each station has only cups.uri, so every answer must be the TC URI update, byte for byte; an error is any connection or TLS failure, timeout, non-200 or other answer. The bare baseline (node:https, same certificate, no session tickets) answers the same bytes without looking at the request.',
      'PostgreSQL: two bscups processes on the same schema, station i sent to replica i mod 2. "first reports recorded": stations the registry shows as seen, with their report stored, after the storm.',
      'The TLS client handshakes run in the bench process (Node), on the same cores as the servers: they slow bare and bscups alike.',
      ...skipped.map((s) => `PostgreSQL skipped: ${s}.`),
      ...errorNotes,
    ],
  };
}
