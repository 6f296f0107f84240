/**
 * Benchmark 2: firmware fan-out. Many stations holding the signing key ask at
 * the same moment and each is sent the same 20 MB signed update, against a bare
 * node:http server streaming that file from disk. Reports aggregate throughput
 * and the server's peak RSS. Rounds alternate bare and bscups so a change in
 * background load hits both alike; the median round is reported.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { encodeResponseHead } from '../src/protocol/index.js';
import { generateSigningKey, signStream, verifyStream } from '../src/signing/index.js';
import { startServerChild, type ServerChild } from './child-server.js';
import { Cleanup, TC_URI, benchEui, openBenchRuntime, registerStations, sqliteRegistry, stationBytes, stationReport, tempDir } from './fixtures.js';
import { runLoad, type LoadResult } from './load.js';
import { childOptions, type BenchSettings } from './settings.js';
import type { ServerStats } from './server-spec.js';
import { exchangeOnce } from './station-client.js';
import { mb, met, num, pct, type Table } from './table.js';

const TARGET_RATIO = 0.8;
const TARGET_RSS = 300e6;
/** Downloads per round whose update bytes are SHA-256 checked; the others are checked for length and response head. */
const VERIFIED = 5;

interface Plan {
  readonly downloads: number;
  readonly size: number;
  readonly rounds: number;
}

interface Firmware {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly keyCrc: number;
  readonly signature: Buffer;
}

/** One server under test: how to reach it, what its requests are and what every answer must start with. */
interface Subject {
  readonly name: string;
  readonly child: ServerChild;
  readonly requests: readonly Buffer[];
  readonly head: Buffer;
}

interface Round {
  readonly load: LoadResult;
  readonly bytes: number;
  readonly cpuMicros: number;
}

interface Measured {
  readonly server: string;
  readonly rounds: readonly Round[];
  readonly idle: ServerStats;
  readonly end: ServerStats;
}

export async function runFanout(settings: BenchSettings): Promise<Table> {
  const plan: Plan = settings.quick ? { downloads: 50, size: 20_000_000, rounds: 1 } : { downloads: 200, size: 20_000_000, rounds: 3 };
  const cleanup = new Cleanup();
  try {
    const dir = await tempDir(cleanup, 'fanout');
    settings.log(`fanout: writing and signing a ${mb(plan.size)} MB update`);
    const fw = await makeFirmware(join(dir, 'update.bin'), plan.size);
    const bareChild = await startServerChild({ kind: 'bare-file', path: fw.path }, childOptions(settings, false));
    cleanup.add(() => bareChild.stop());
    const bare: Subject = { name: 'bare node:http (file stream)', child: bareChild, requests: buildRequests(bareChild.port, plan.downloads, fw.keyCrc), head: Buffer.alloc(0) };
    const registry = sqliteRegistry(dir);
    const blobs = join(dir, 'blobs');
    const cupsChild = await startServerChild({ kind: 'cups', database: registry.database, blobs, logLevel: 'info' }, childOptions(settings, true));
    cleanup.add(() => cupsChild.stop());
    const cups = await setUpCups(cupsChild, plan, fw, registry.database, blobs);

    const idle = [await bare.child.stats(true), await cups.child.stats(true)];
    const rounds: Round[][] = [[], []];
    for (let r = 0; r < plan.rounds; r++) {
      for (const [k, subject] of [bare, cups].entries()) {
        settings.log(`fanout: round ${r + 1}/${plan.rounds}, ${subject.name}, ${plan.downloads} simultaneous downloads`);
        rounds[k]?.push(await download(subject, fw));
      }
    }
    const offered = await countOffered(registry.database, blobs, plan);
    const measured: Measured[] = [];
    for (const [k, subject] of [bare, cups].entries()) {
      measured.push({ server: subject.name, rounds: rounds[k] ?? [], idle: idle[k] as ServerStats, end: await subject.child.stats() });
    }
    return table(plan, measured, offered);
  } finally {
    await cleanup.run();
  }
}

/** Random (incompressible) bytes, their SHA-256, and a station-style signature over them. */
async function makeFirmware(path: string, size: number): Promise<Firmware> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let written = 0; written < size; ) {
    const chunk = randomBytes(Math.min(1024 * 1024, size - written));
    hash.update(chunk);
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const key = generateSigningKey();
  const signature = await signStream(createReadStream(path), key.privateKeyPem);
  if (!(await verifyStream(createReadStream(path), signature, key.sigKey))) throw new Error('fanout: the update signature does not verify');
  return { path, size, sha256: hash.digest('hex'), keyCrc: key.crc, signature };
}

/** The flow of `bscups firmware upgrade`: store the file once by its hash, then target every station at it. */
async function setUpCups(child: ServerChild, plan: Plan, fw: Firmware, database: string, blobs: string): Promise<Subject> {
  const url = `http://127.0.0.1:${child.port}`;
  const euis = Array.from({ length: plan.downloads }, (_, i) => benchEui(i));
  const runtime = await openBenchRuntime(database, blobs);
  try {
    const blob = `sha256-${fw.sha256}`;
    const put = await runtime.blobs.put('fwupgrades', blob, createReadStream(fw.path), { size: fw.size });
    if (put.sha256 !== fw.sha256) throw new Error('fanout: the blob store changed the update while storing it');
    await registerStations(runtime, euis.map((eui) => ({ eui, desired: { cupsUri: url, tcUri: TC_URI } })));
    const signatures = [{ keyCrc: fw.keyCrc, signature: fw.signature.toString('base64') }];
    // Each round offers the update again (the stations never install it), so allow one offer per round.
    const maxOffers = plan.rounds + 1;
    for (const eui of euis) {
      await runtime.registry.setFirmwareTarget(eui, { package: '2.0.0', blob, size: fw.size, sha256: fw.sha256, signatures, maxOffers, fromPackage: '1.0.0', requestedAt: new Date() });
    }
  } finally {
    await runtime.close();
  }
  const head = encodeResponseHead({ firmware: { keyCrc: fw.keyCrc, signature: fw.signature }, updateLength: fw.size });
  return { name: 'bscups (SQLite, fs blobs)', child, requests: buildRequests(child.port, plan.downloads, fw.keyCrc, url), head };
}

/** Targets still "offered" with exactly one offer per round: none lost, none counted twice. */
async function countOffered(database: string, blobs: string, plan: Plan): Promise<number> {
  const runtime = await openBenchRuntime(database, blobs);
  try {
    return (await runtime.registry.listStations()).filter((s) => s.firmware?.state === 'offered' && s.firmware.offers === plan.rounds).length;
  } finally {
    await runtime.close();
  }
}

/** Every station on package 1.0.0 holding the signing key, so each is offered the update. */
function buildRequests(port: number, count: number, keyCrc: number, cupsUri = `http://127.0.0.1:${port}`): Buffer[] {
  return Array.from({ length: count }, (_, i) => stationBytes(port, stationReport(benchEui(i), { cupsUri, tcUri: TC_URI, package: '1.0.0', keys: [keyCrc] })));
}

/**
 * All downloads start at once, each on its own connection. Every answer must be
 * 200 with the expected head and length; the first few are SHA-256 checked.
 */
async function download(subject: Subject, fw: Firmware): Promise<Round> {
  const { child, requests, head } = subject;
  const expectedLength = head.length + fw.size;
  const before = await child.stats();
  const load = await runLoad({
    concurrency: requests.length,
    durationMs: 60_000,
    maxRequests: requests.length,
    maxErrors: requests.length,
    exchange: async (i) => {
      const verify = i < VERIFIED;
      const a = await exchangeOnce(child.port, requests[i] as Buffer, { keepPrefix: head.length, ...(verify ? { hashFrom: head.length } : {}), idleTimeoutMs: 60_000 });
      if (a.status !== 200) return `HTTP ${a.status}`;
      if (a.contentLength !== expectedLength) return `Content-Length ${a.contentLength}, expected ${expectedLength}`;
      if (!a.prefix.equals(head)) return `response head ${a.prefix.toString('hex')} is not the expected ${head.toString('hex')}`;
      if (verify && a.sha256 !== fw.sha256) return `update SHA-256 ${a.sha256} is not the file's ${fw.sha256}`;
      return undefined;
    },
  });
  const after = await child.stats();
  return { load, bytes: load.ok * expectedLength, cpuMicros: after.cpuMicros - before.cpuMicros };
}

const mbps = (r: Round) => r.bytes / 1e6 / (r.load.wallMs / 1000);

/** The median round by throughput (the lower middle one for an even count). */
function medianRound(rounds: readonly Round[]): Round {
  const sorted = [...rounds].sort((a, b) => mbps(a) - mbps(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as Round;
}

function table(plan: Plan, results: readonly Measured[], offered: number): Table {
  const bare = medianRound((results[0] as Measured).rounds);
  const rows = results.map((m, index) => {
    const isBare = index === 0;
    const median = medianRound(m.rounds);
    const [p50 = NaN, slowest = NaN] = median.load.latency.percentiles(50, 100);
    const ratio = mbps(median) / mbps(bare);
    const hwm = m.end.vmHwm ?? m.end.sampledPeakRss;
    const errors = m.rounds.reduce((n, r) => n + r.load.errors + (plan.downloads - r.load.ok - r.load.errors), 0);
    const rates = m.rounds.map(mbps);
    const reasons = [
      ...(ratio < TARGET_RATIO ? [`${pct(ratio)} of bare`] : []),
      ...(hwm >= TARGET_RSS ? [`peak RSS ${mb(hwm)} MB`] : []),
      ...(errors > 0 ? [`${errors} errors`] : []),
    ];
    return [
      m.server,
      num(plan.downloads),
      `${mb(plan.size, 1)} MB`,
      `${mb(median.bytes)} MB`,
      num(median.load.wallMs / 1000, 2),
      num(mbps(median)),
      `${num(Math.min(...rates))}–${num(Math.max(...rates))}`,
      num(p50 / 1000, 2),
      num(slowest / 1000, 2),
      num(median.cpuMicros / 1e6, 2),
      mb(m.idle.rss),
      mb(m.end.sampledPeakRss),
      mb(hwm),
      num(errors),
      isBare ? '100% (baseline)' : pct(ratio),
      isBare ? '—' : `≥ ${pct(TARGET_RATIO)} of bare, peak RSS < ${mb(TARGET_RSS)} MB`,
      isBare ? '—' : met(reasons.length === 0, reasons.join(', ')),
    ];
  });
  const errorNotes = results.flatMap((m) => m.rounds.filter((r) => r.load.errors > 0).map((r) => `errors on ${m.server}: ${r.load.errorSamples.join('; ')}`));
  return {
    title: `firmware fan-out (${num(plan.downloads)} simultaneous downloads of a ${mb(plan.size, 1)} MB update)`,
    columns: ['server', 'downloads', 'update', 'moved', 'wall s', 'MB/s', `MB/s range (${plan.rounds} rounds)`, 'p50 s', 'slowest s', 'server CPU s', 'idle RSS MB', 'sampled peak RSS MB', 'peak RSS MB (VmHWM)', 'errors', 'vs bare', 'target', 'met?'],
    rows,
    notes: [
      `${num(plan.downloads)} stations, each registered with a firmware target and holding the signing key, send their station request at the same moment on their own connection; every answer is checked for status, Content-Length and the exact response head (signature), and the update bytes of ${VERIFIED} downloads per round for SHA-256.`,
      `${plan.rounds} round(s), alternating bare and bscups; wall time, MB/s, latency and server CPU are from each server's median round, errors are summed over all rounds. MB = 10^6 bytes; MB/s is all bytes moved over the wall time.`,
      'The bare baseline pipes the same file from disk (fs.createReadStream, Content-Length set); bscups streams it from its fs blob store.',
      'Peak RSS: "sampled" is the highest process.memoryUsage().rss seen every 10 ms over all rounds; VmHWM is the kernel\'s lifetime peak RSS of the server process (the target uses it). Servers run under plain node, as in production.',
      `Registry after the fan-out: ${offered} of ${num(plan.downloads)} firmware targets are "offered" with exactly ${plan.rounds} offer(s) counted (one per round).`,
      ...errorNotes,
    ],
  };
}
