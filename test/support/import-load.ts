import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
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
  let done = false;
  let worst = 0;
  let polls = 0;
  let worstAt = 0;
  const t0 = performance.now();
  const polling = (async () => {
    while (!done) {
      const t = performance.now();
      const r = await rawExchange(options.stationPort, poll);
      if (r.status !== 200) throw new Error(`poll answered ${r.status}`);
      const took = performance.now() - t;
      if (took > worst) {
        worst = took;
        worstAt = t - t0;
      }
      polls++;
    }
  })();
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
    done = true;
    await polling;
  }
  return { status, rows, importMs: performance.now() - t0, polls, worstPollMs: worst, worstPollAtMs: worstAt, peakRssBytes: await peakRss(options.pid) };
}
