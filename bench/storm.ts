/**
 * Benchmark 3: the start-up storm (PROTOCOL.md 5.2): every station restarting
 * after an outage calls CUPS within about a minute. Here 10,000 registered
 * stations that never reported make their first request as fast as a bounded
 * number of open connections allows. Each is a fresh station with only cups.uri,
 * so each is answered its TC URI and its first report is written to the registry.
 * A few of them are the full station simulator (home folder, apply the answer).
 */
import { join } from 'node:path';
import { encodeResponse } from '../src/protocol/index.js';
import { createSimulatedStation, initStationHome, type SimulatedStation } from '../src/simulator/index.js';
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
import { exchangeOnce } from './station-client.js';
import { met, num, pct, type Table } from './table.js';

/** Open connections at once: what a load balancer in front of one small box would allow. */
const CONCURRENCY = 256;
/** How many of the stations are the full simulator rather than raw request bytes. */
const SIMULATED = 4;
/** The whole storm must be over within this; a real station's exchange timeout is 60 s. */
const STORM_LIMIT_MS = 180_000;

interface Measured {
  readonly server: string;
  readonly registry: string;
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
    settings.log(`storm: bare node:http, ${num(stations)} stations, ${CONCURRENCY} connections`);
    results.push(await measureBare(stations, answer, join(dir, 'bare-homes'), settings));
    const pgRegistry = await postgresRegistry(cleanup);
    const registries: BenchRegistry[] = [sqliteRegistry(dir)];
    if ('unavailable' in pgRegistry) skipped.push(pgRegistry.unavailable);
    else registries.push(pgRegistry);
    for (const registry of registries) {
      settings.log(`storm: bscups on ${registry.label}, ${num(stations)} stations, ${CONCURRENCY} connections`);
      results.push(await measureCups(stations, answer, registry, dir, settings));
    }
  } finally {
    await cleanup.run();
  }
  return table(stations, results, skipped);
}

async function measureBare(stations: number, answer: Buffer, homes: string, settings: BenchSettings): Promise<Measured> {
  const child = await startServerChild({ kind: 'bare-bytes', bodyHex: answer.toString('hex') }, childOptions(settings, false));
  try {
    return { server: 'bare node:http', registry: '—', load: await storm(child, stations, answer, homes) };
  } finally {
    await child.stop();
  }
}

async function measureCups(stations: number, answer: Buffer, registry: BenchRegistry, dir: string, settings: BenchSettings): Promise<Measured> {
  const blobs = join(dir, 'blobs');
  const child = await startServerChild(
    { kind: 'cups', database: registry.database, blobs, logLevel: 'info' },
    childOptions(settings, true),
  );
  try {
    const url = `http://127.0.0.1:${child.port}`;
    const runtime = await openBenchRuntime(registry.database, blobs);
    try {
      await registerStations(runtime.registry, Array.from({ length: stations }, (_, i) => ({ eui: benchEui(i), desired: { cupsUri: url, tcUri: TC_URI } })));
    } finally {
      await runtime.close();
    }
    const load = await storm(child, stations, answer, join(dir, `${registry.label}-homes`));
    const check = await openBenchRuntime(registry.database, blobs);
    try {
      const recorded = (await check.registry.listStations()).filter((s) => s.lastSeenAt !== null && s.reported?.tcUri === null).length;
      return { server: 'bscups', registry: registry.label, load, recorded };
    } finally {
      await check.close();
    }
  } finally {
    await child.stop();
  }
}

/** Every station's first request, each exactly once, CONCURRENCY at a time; every answer must be the TC URI update, byte for byte. */
async function storm(child: ServerChild, stations: number, answer: Buffer, homes: string): Promise<LoadResult> {
  const url = `http://127.0.0.1:${child.port}`;
  const simulated = new Map<number, SimulatedStation>();
  for (let k = 0; k < SIMULATED; k++) {
    const i = Math.floor((k * stations) / SIMULATED);
    const home = join(homes, String(i));
    await initStationHome(home, { cupsUri: url, version: '1.0.0' });
    simulated.set(i, createSimulatedStation({ home, eui: benchEui(i) }));
  }
  const requests = Array.from({ length: stations }, (_, i) => stationBytes(child.port, stationReport(benchEui(i), { cupsUri: url, tcUri: null, package: '1.0.0' })));
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
      const a = await exchangeOnce(child.port, requests[i] as Buffer, { keepPrefix: answer.length + 1, idleTimeoutMs: 60_000 });
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
    return [
      m.server,
      m.registry,
      num(stations),
      num(CONCURRENCY),
      num(m.load.wallMs / 1000, 2),
      num(rate(m)),
      num(p50, 1),
      num(p99, 1),
      num(m.load.errors + unanswered),
      m.recorded === undefined ? '—' : `${num(m.recorded)} / ${num(stations)}`,
      isBare ? '100% (baseline)' : pct(rate(m) / rate(bare)),
      '0 errors',
      met(m.load.errors + unanswered === 0 && (m.recorded === undefined || m.recorded === stations), `${m.load.errors + unanswered} errors${m.recorded !== undefined && m.recorded !== stations ? `, ${stations - m.recorded} first reports not recorded` : ''}`),
    ];
  });
  const errorNotes = results.filter((m) => m.load.errors > 0).map((m) => `errors on ${m.server} ${m.registry}: ${m.load.errorSamples.join('; ')}`);
  return {
    title: `start-up storm (${num(stations)} stations, first request each)`,
    columns: ['server', 'registry', 'stations', 'open connections', 'time to serve all s', 'stations/s', 'p50 ms', 'p99 ms', 'errors', 'first reports recorded', 'vs bare', 'target', 'met?'],
    rows,
    notes: [
      `${num(stations)} registered stations that never reported each send their first request once, on a new connection, at most ${CONCURRENCY} open at a time (a load balancer's connection cap on one box); ${SIMULATED} of them are the full station simulator, the rest send the exact station bytes.`,
      'Each station has only cups.uri, so every answer must be the TC URI update, byte for byte; an error is any connection failure, timeout, non-200 or other answer. The bare baseline answers the same bytes without looking at the request.',
      '"first reports recorded": stations the registry shows as seen, with their report stored, after the storm.',
      ...skipped.map((s) => `PostgreSQL skipped: ${s}.`),
      ...errorNotes,
    ],
  };
}
