/**
 * A server under test in its own process, so the load generator never shares
 * its event loop. Started by child-server.ts under plain node (compiled by
 * compile-child.ts); reports its port over IPC, answers stats requests, and
 * exits when told to or when the parent goes away (IPC disconnect), so it can
 * never outlive a bench run.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { constants } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { ChildMessage, ParentMessage, ServerSpec, ServerStats } from './server-spec.js';

const RSS_SAMPLE_MS = 10;

function send(message: ChildMessage): void {
  process.send?.(message);
}

let sampledPeak = process.memoryUsage.rss();
let resumed: number | null = null;
setInterval(() => {
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
}, RSS_SAMPLE_MS).unref();

function vmHwm(): number | null {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'));
    return kb === null ? null : Number(kb[1]) * 1024;
  } catch {
    return null;
  }
}

function stats(): ServerStats {
  const cpu = process.cpuUsage();
  const rss = process.memoryUsage.rss();
  sampledPeak = Math.max(sampledPeak, rss);
  return { cpuMicros: cpu.user + cpu.system, monoMicros: Number(process.hrtime.bigint() / 1000n), rss, sampledPeakRss: sampledPeak, vmHwm: vmHwm(), resumedHandshakes: resumed };
}

/** Starts the server the spec names; resolves to its port and a close function. */
async function start(spec: ServerSpec): Promise<{ port: number; close: () => Promise<void> }> {
  if (spec.kind === 'cups') {
    // Loaded only here so the bare baselines carry none of the product's modules in their RSS.
    const [{ destination, pino }, { serve }, { openRuntime }, { benchConfig }] = await Promise.all([
      import('pino'),
      import('../src/http/serve.js'),
      import('../src/runtime.js'),
      import('./cups-config.js'),
    ]);
    const config = benchConfig(spec);
    // At info, as deployed: an exchange that changed something or was refused is a line,
    // an up-to-date poll is at debug (not written). /dev/null keeps the cost of building
    // the lines (what a deployment pays) without a reader.
    const logger = pino({ level: config.logLevel }, destination({ dest: '/dev/null', sync: true }));
    const runtime = await openRuntime(config, { serving: true });
    const server = await serve(runtime, config, logger);
    return {
      port: server.port,
      close: async () => {
        await server.close();
        await runtime.close();
      },
    };
  }
  const handler = spec.kind === 'bare-bytes' ? bytesHandler(Buffer.from(spec.bodyHex, 'hex')) : fileHandler(spec.path, (await stat(spec.path)).size);
  const tls = spec.kind === 'bare-bytes' ? spec.tls : undefined;
  // HTTPS with the product's TLS settings (no session tickets: every handshake a full one, as a station makes it).
  const server: Server =
    tls === undefined
      ? createServer(handler)
      : createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), secureOptions: constants.SSL_OP_NO_TICKET }, handler);
  if (tls !== undefined) {
    resumed = 0;
    server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.isSessionReused()) resumed = (resumed ?? 0) + 1;
    });
  }
  // The same keep-alive window as the product's station listener (serve --keep-alive-timeout, default 5 s);
  // a literal, so the bare server loads no product code (its memory is measured too).
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server) };
}

/** Reads the request body (as any real handler must) and answers the fixed bytes. */
function bytesHandler(body: Buffer) {
  const headers = { 'content-type': 'application/octet-stream', 'content-length': body.length };
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, headers);
      res.end(body);
    });
  };
}

/** Reads the request body, then streams the file with its Content-Length. */
function fileHandler(path: string, size: number) {
  const headers = { 'content-type': 'application/octet-stream', 'content-length': size };
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.once('end', () => {
      res.writeHead(200, headers);
      // A client that goes away mid-download ends the pipeline with an error; nothing to do then.
      pipeline(createReadStream(path), res).catch(() => undefined);
    });
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ServerSpec;
  const { port, close } = await start(spec);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // Exit even if a close hangs on a connection the load generator left open.
    setTimeout(() => process.exit(code), 5_000).unref();
    await close().catch(() => undefined);
    process.exit(code);
  };
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') {
      if (message.resetPeak) sampledPeak = process.memoryUsage.rss();
      send({ type: 'stats', id: message.id, stats: stats() });
    } else if (message.type === 'stop') void stop(0);
  });
  process.on('disconnect', () => void stop(0));
  send({ type: 'ready', port });
}

main().catch((e: unknown) => {
  send({ type: 'failed', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
});
