import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../../src/protocol/index.js';
import { rawExchange } from './raw-http.js';
import { stationRequest } from './tls-client.js';

// A large import through the admin API while a station polls: the worst poll
// latency during it and the server's peak RSS (VmHWM of its process). Used by
// the import test and by the benchmark.

/** A CSV import file of about `bytes` bytes, every row a new station. */
export function importCsv(bytes: number): Buffer {
  const lines = ['eui,name,labels,cupsUri,tcUri,authMode'];
  let size = lines[0]!.length + 1;
  for (let i = 0; size < bytes; i++) {
    const line = `0016C0${i.toString(16).toUpperCase().padStart(10, '0')},import station ${i} on the north roof,site=north;tier=gold;row=${i},https://cups.example.com:443,wss://lns.example.com:6887,none`;
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** The peak resident set size of process `pid` so far, in bytes. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmHWM for process ${pid}`);
  return Number(kb) * 1024;
}

/** Polls one after another until told to stop; posts the worst latency (plain JS: it runs in a worker thread). */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { performance } = require('node:perf_hooks');
let stop = false;
parentPort.on('message', () => { stop = true; });
function exchange() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: workerData.port });
    let data = Buffer.alloc(0);
    socket.on('data', (c) => {
      data = Buffer.concat([data, c]);
      const end = data.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const head = data.subarray(0, end).toString('latin1');
      const length = Number(/content-length: *(\\d+)/i.exec(head)?.[1] ?? 0);
      if (data.length >= end + 4 + length) { socket.destroy(); resolve(Number(head.split(' ')[1])); }
    });
    socket.on('error', reject);
    socket.write(workerData.request);
  });
}
(async () => {
  const t0 = performance.now();
  let worst = 0, worstAt = 0, polls = 0, error;
  try {
    while (!stop) {
      const t = performance.now();
      const status = await exchange();
      if (status !== 200) throw new Error('poll answered ' + status);
      const took = performance.now() - t;
      if (took > worst) { worst = took; worstAt = t - t0; }
      polls++;
    }
  } catch (e) { error = String(e); }
  parentPort.postMessage({ worst, worstAt, polls, error });
})();
`;

export interface ImportUnderLoad {
  readonly status: number;
  readonly rows: number;
  readonly importMs: number;
  readonly polls: number;
  readonly worstPollMs: number;
  /** When the worst poll started, from the start of the import. */
  readonly worstPollAtMs: number;
  readonly peakRssBytes: number;
}

/**
 * POSTs `body` to the import (dry run unless `apply`) and polls `eui` one after
 * another until the import has answered; the server's peak RSS after.
 */
export async function importUnderLoad(options: {
  readonly admin: string;
  readonly key: string;
  readonly stationPort: number;
  readonly eui: string;
  readonly body: Buffer;
  readonly pid: number;
  readonly apply?: boolean;
}): Promise<ImportUnderLoad> {
  const poll = encodeStationHttpRequest({ host: `127.0.0.1:${options.stationPort}`, body: encodeStationRequestBody(stationRequest(options.eui)) });
  // A poll before: the station's first answer (read into the server's memory) is not the import's doing.
  for (let i = 0; i < 3; i++) await rawExchange(options.stationPort, poll);
  // The polls run on a thread of their own: what the client does with the import (sending 20 MB) cannot delay them.
  const poller = new Worker(POLLER, { eval: true, workerData: { port: options.stationPort, request: poll } });
  const stats = new Promise<{ worst: number; worstAt: number; polls: number; error?: string }>((resolve, reject) => {
    poller.once('message', resolve);
    poller.once('error', reject);
  });
  await new Promise((resolve) => poller.once('online', resolve));
  const t0 = performance.now();
  let status = 0;
  let rows = 0;
  try {
    const res = await fetch(`${options.admin}/stations/import?dryRun=${options.apply === true ? 'false' : 'true'}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.key}`, 'content-type': 'text/csv' },
      body: options.body,
    });
    status = res.status;
    // Only the counts at its head are read; the rest is drained unparsed, so the client stalls no poll of its own.
    let head = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (head.length < 4096) head += Buffer.from(chunk).toString('utf8');
    }
    rows = Number(/"rows":(\d+)/.exec(head)?.[1] ?? 0);
  } finally {
    poller.postMessage('stop');
  }
  const importMs = performance.now() - t0;
  const { worst, worstAt, polls, error } = await stats;
  await poller.terminate();
  if (error !== undefined) throw new Error(error);
  return { status, rows, importMs, polls, worstPollMs: worst, worstPollAtMs: worstAt, peakRssBytes: await peakRss(options.pid) };
}
