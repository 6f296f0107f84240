import type { HealthThresholds } from '../core/health.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { CupsError, isCupsError } from '../core/errors.js';
import type { BlobStore } from '../blobs/types.js';
import type { StationRegistry } from '../registry/types.js';
import type { HttpsServerOptions } from './tls-files.js';
import { httpStatusOf } from './error-status.js';
import { createUpdateInfoHandler } from './update-info.js';
import type { DownloadSlots } from './download-slots.js';
import { createRefusalLog } from './refusal-log.js';
import { createRefusalRecorder } from './refusal-recorder.js';
import { stationServerFactory } from './station-server.js';
import { registerHealth } from './health.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { capConnections, capPerAddress, DEFAULT_LIMITS, refusalReporter, type ConnectionLimits } from './connection-limits.js';

/** Everything the server needs, injected so tests swap any part without mocking modules. */
export interface AppDeps {
  readonly registry: StationRegistry;
  readonly blobs: BlobStore;
  /** A pino logger (or any logger Fastify accepts). */
  readonly logger: FastifyBaseLogger;
  /** Current time; injected so tests control it. */
  readonly clock?: () => Date;
  /** Largest accepted request body in bytes. */
  readonly bodyLimit?: number;
  /** Prometheus metrics; a fresh set when not given. */
  readonly metrics?: ServerMetrics;
  /** Serve HTTPS with these options (see tls-files.ts); plain HTTP when absent. */
  readonly https?: HttpsServerOptions;
  /** Accept stations whose auth mode is none; only for a local quickstart. Default false. */
  readonly allowUnauthenticated?: boolean;
  /** Deadlines and the connection cap; DEFAULT_LIMITS when absent. */
  readonly limits?: ConnectionLimits;
  /** Repeated refusals (same reason and source) are logged as one line per this interval; default 10 s. */
  readonly refusalLogIntervalMs?: number;
  /** Health thresholds (`--health-*`, core/health.ts); defaults from the station's own. */
  readonly health?: HealthThresholds;
  /** Firmware downloads in flight and their cap (`--max-concurrent-downloads`); uncounted and uncapped when absent. */
  readonly downloads?: DownloadSlots;
}

/** Builds the server without listening; serve.ts binds the port. */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const metrics = deps.metrics ?? createMetrics();
  const bodyLimit = deps.bodyLimit ?? 8192;
  // POST /update-info is served by a plain node:http handler in front of Fastify (station-server.ts).
  // Refusal lines coalesced per reason and source: a flood of refused requests cannot flood the log.
  const refusalLog = createRefusalLog(deps.logger, deps.refusalLogIntervalMs ?? 10_000);
  // Refusal rows are written after the answer; closing waits for the ones still being written.
  const refusals = createRefusalRecorder(deps.registry, deps.logger);
  const station = createUpdateInfoHandler({ ...deps, metrics, bodyLimit, clock: deps.clock ?? (() => new Date()), refusalLog, refusals });
  let closing = false;
  const app = Fastify({
    loggerInstance: deps.logger,
    // One log line per exchange is written by the route itself, with the EUI and what was sent.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    return503OnClosing: true,
    // The node server (plain or TLS, with the deadlines) is made there; Fastify types it as plain http.
    serverFactory: stationServerFactory({ station, limits, https: deps.https, closing: () => closing }),
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    refusalLog.flush();
    await refusals.settled();
  });
  const refused = refusalReporter((count) =>
    deps.logger.warn({ refused: count, maxConnections: limits.maxConnections }, 'connection cap reached: new connections are being closed; raise --max-connections if these are real stations'),
  );
  capConnections(app.server, limits, () => {
    metrics.countRefusedConnection();
    refused();
  });
  const perAddress = limits.maxConnectionsPerAddress ?? 0;
  const refusedPerAddress = refusalReporter((count) =>
    deps.logger.warn({ refused: count, maxConnectionsPerAddress: perAddress }, 'per-address connection cap reached: connections from one address beyond it are being closed; raise --max-connections-per-address (or 0 for none) if gateways share an address'),
  );
  capPerAddress(app.server, perAddress, () => {
    metrics.countRefusedConnection();
    refusedPerAddress();
  });

  app.setErrorHandler((error: FastifyError | CupsError, request, reply) => {
    // A client that hung up (a station cut off mid-exchange) is not a server failure, and there
    // is no one left to answer; firmware-delivery.ts logs a cut download with its bytes.
    if (reply.raw.destroyed || (error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
      request.log.warn({ code: 'client_closed' }, 'the client closed the connection before the answer was complete');
      reply.hijack();
      return;
    }
    const { status, code, message } = describeError(error);
    if (status >= 500) request.log.error({ err: error, code }, 'request failed');
    else refusalLog.refused('info', 'request refused', code, request.ip, { status, reason: message });
    const body = `${code}: ${message}\n`;
    return reply
      .status(status)
      .header('content-type', 'text/plain; charset=utf-8')
      .header('content-length', Buffer.byteLength(body))
      .send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body = `not_found: no route ${request.method} ${request.url}; stations use POST /update-info\n`;
    return reply.status(404).header('content-type', 'text/plain; charset=utf-8').send(body);
  });

  // app.inject() does not pass through the node server: this route hands the request to the same handler.
  app.post('/update-info', {
    onRequest: (request, reply, done) => {
      reply.hijack();
      station(request.raw, reply.raw);
      done();
    },
    handler: () => undefined,
  });
  registerHealth(app, deps);
  // This process and its exchanges only: anyone on the gateways' network reaches this port, so
  // nothing about the fleet (counts by package, model, state, rollouts) is here; the admin listener has those.
  app.get('/metrics', async (_req, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  await app.ready();
  return app;
}

function describeError(error: FastifyError | CupsError): { status: number; code: string; message: string } {
  if (isCupsError(error)) return { status: httpStatusOf(error), code: error.code, message: error.message };
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) return { status, code: 'internal', message: 'internal server error; see the server log' };
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status, code: 'body_too_large', message: error.message };
  return { status, code: 'invalid_request', message: error.message };
}
