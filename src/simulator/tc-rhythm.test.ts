import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from './index.js';
import { nextExchangeDelay } from './schedule.js';

// The simulator's CUPS rhythm follows its LNS (TC) connection as the real
// station's does (PROTOCOL.md 8): 450 s apart while the TC URI refuses, 60 s
// without a TC URI, 24 h while TC connects. Scaled by timeScale 0.001 (450 ms),
// against a real CUPS stub and a real TCP listener (or a port with nothing on it).

const SCALE = 0.001;
let home: string;
let cups: Server;
let cupsUrl: string;
let lns: NetServer;
let lnsPort: number;
let deadPort: number;
/** Arrival times of the CUPS requests, ms. */
let arrivals: number[] = [];

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

beforeAll(async () => {
  cups = createServer((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 14 }).end(Buffer.alloc(14)));
  });
  cupsUrl = `http://127.0.0.1:${await listen(cups)}`;
  // Reads what it is sent (a router-info request it never answers), so a closed connection ends.
  lns = createNetServer((socket) => socket.on('error', () => undefined).resume());
  lnsPort = await listen(lns);
  // A port that was free a moment ago: nothing listens there, connections are refused.
  const probe = createNetServer();
  deadPort = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(async () => {
  cups.closeAllConnections();
  await new Promise((resolve) => cups.close(resolve));
  await new Promise((resolve) => lns.close(resolve));
});
beforeEach(async () => {
  arrivals = [];
  home = await mkdtemp(join(tmpdir(), 'bscups-sim-tc-'));
  return () => rm(home, { recursive: true, force: true });
});

/**
 * A tiny LNS answering router-info over a real WebSocket: with an error (the router
 * is rejected), with where to go, or with an HTTP error on the upgrade.
 */
async function routerInfoLns(answer: 'error' | 'uri' | 'http-404'): Promise<{ url: string; asked: string[]; close(): Promise<void> }> {
  const asked: string[] = [];
  const upgraded = new Set<{ destroy(): void }>();
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket) => {
    asked.push(req.url ?? '');
    upgraded.add(socket);
    if (answer === 'http-404') {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.once('data', () => {
      const body = Buffer.from(JSON.stringify(answer === 'error' ? { router: '1', error: 'Router not provisioned' } : { router: '1', muxs: '::0', uri: 'ws://127.0.0.1:1/traffic' }));
      socket.write(Buffer.concat([Buffer.from([0x81, body.length]), body]));
    });
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  return { url: `ws://127.0.0.1:${port}`, asked, close: () => new Promise((resolve) => {
    // Upgraded sockets are no longer the server's to close.
    for (const s of upgraded) s.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  }) };
}

const gaps = () => arrivals.slice(1).map((t, i) => t - (arrivals[i] as number));
const station = () => createSimulatedStation({ home, eui: '0016C001FF10F001' });

describe('the simulated station calls CUPS on the rhythm of its LNS connection', () => {
  it('TC refused (nothing listening): back every 450 s, scaled', async () => {
    await initStationHome(home, { cupsUri: cupsUrl, tcUri: `ws://127.0.0.1:${deadPort}` });
    await station().run({ maxExchanges: 3, timeScale: SCALE });
    expect(arrivals).toHaveLength(3);
    for (const gap of gaps()) {
      expect(gap).toBeGreaterThanOrEqual(440);
      // Upper bound only against a wrong rhythm (24 h scaled is 86 s); the machine may be slow.
      expect(gap).toBeLessThan(5_000);
    }
  });

  it('no TC URI: back every minute, scaled', async () => {
    await initStationHome(home, { cupsUri: cupsUrl });
    await station().run({ maxExchanges: 3, timeScale: SCALE });
    for (const gap of gaps()) {
      expect(gap).toBeGreaterThanOrEqual(55);
      expect(gap).toBeLessThan(440);
    }
  });

  it('TC accepted by a real listener, or --tc-ok: the next call is the regular check, 24 h later', async () => {
    const stop = new AbortController();
    const waits: string[] = [];
    const log = (line: string) => {
      if (!line.startsWith('Next CUPS interaction in ')) return;
      waits.push(line);
      stop.abort();
    };
    await initStationHome(home, { cupsUri: cupsUrl, tcUri: `ws://127.0.0.1:${lnsPort}` });
    await createSimulatedStation({ home, eui: '0016C001FF10F001', log }).run({ signal: stop.signal, timeScale: SCALE });
    const ok = new AbortController();
    await createSimulatedStation({ home, eui: '0016C001FF10F001', log: (l) => (l.startsWith('Next') ? (waits.push(l), ok.abort()) : undefined) }).run({ signal: ok.signal, tcOk: true });
    expect(waits).toEqual(['Next CUPS interaction in 86400 ms', 'Next CUPS interaction in 86400000 ms']);
    expect(arrivals).toHaveLength(2);
  });

  it('router-info answers with an error (router rejected): back every 60 s, scaled', async () => {
    const lnsRejecting = await routerInfoLns('error');
    try {
      await initStationHome(home, { cupsUri: cupsUrl, tcUri: lnsRejecting.url });
      await station().run({ maxExchanges: 3, timeScale: SCALE });
      expect(lnsRejecting.asked).toEqual(['/router-info', '/router-info']);
      for (const gap of gaps()) {
        expect(gap).toBeGreaterThanOrEqual(55);
        expect(gap).toBeLessThan(440);
      }
    } finally {
      await lnsRejecting.close();
    }
  });

  it('router-info answered with where to go: the regular check; an HTTP error on the upgrade: the 450 s beat', async () => {
    const waits: string[] = [];
    for (const kind of ['uri', 'http-404'] as const) {
      const lnsOf = await routerInfoLns(kind);
      const stop = new AbortController();
      try {
        await initStationHome(home, { cupsUri: cupsUrl, tcUri: lnsOf.url });
        const log = (l: string) => (l.startsWith('Next CUPS interaction in ') ? (waits.push(l), stop.abort()) : undefined);
        await createSimulatedStation({ home, eui: '0016C001FF10F001', log }).run({ signal: stop.signal, timeScale: SCALE });
        expect(lnsOf.asked).toEqual(['/router-info']);
      } finally {
        await lnsOf.close();
      }
    }
    expect(waits).toEqual(['Next CUPS interaction in 86400 ms', 'Next CUPS interaction in 450 ms']);
  });

  it('the schedule: 450 s refused, 60 s rejected, ~28 min unanswered, 24 h connected, 60 s after a CUPS change', () => {
    const base = { ok: true, cupsChanged: false, hasTcUri: true };
    expect(nextExchangeDelay({ ...base, tc: 'refused' })).toBe(450_000);
    expect(nextExchangeDelay({ ...base, tc: 'rejected' })).toBe(60_000);
    expect(nextExchangeDelay({ ...base, tc: 'unanswered' })).toBe(28 * 60_000);
    expect(nextExchangeDelay({ ...base, tc: 'connected' })).toBe(86_400_000);
    expect(nextExchangeDelay({ ...base, cupsChanged: true, tc: 'refused' })).toBe(60_000);
    expect(nextExchangeDelay({ ...base, ok: false })).toBe(60_000);
  });
});
