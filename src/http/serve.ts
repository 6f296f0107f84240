import { startWebhookWorker, WEBHOOK_DEFAULTS } from './webhook-worker.js';
import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { healthThresholds, type Config } from '../config.js';
import type { Runtime } from '../runtime.js';
import { unavailable } from '../core/errors.js';
import { createApp } from './app.js';
import { adminLimitsFromConfig, limitsFromConfig } from './connection-limits.js';
import { fitConnectionCaps, readOpenFileLimit } from './file-budget.js';
import { trackConnections, type Drainer } from './drain.js';
import { DEFAULTS } from '../config.js';
import { startEventSweep } from './event-sweep.js';
import { httpsOptions, readTlsMaterial, type TlsFilePaths } from './tls-files.js';
import { watchTlsFiles, type TlsReloader } from './tls-reload.js';
import { createAdminApp } from './admin/app.js';
import { ensureFirstAdminKey } from '../operations/api-keys.js';
import { startRolloutEngine, type RolloutEngine } from '../operations/rollout-engine.js';
import { loadStationCa, type StationCa } from '../operations/credential-rotate.js';
import { startCertificateRenewal, type CertificateRenewal } from '../operations/cert-renewal.js';
import { startNoticeSweep } from '../operations/notice-sweep.js';
import type { RolloutPolicy } from '../operations/firmware-library.js';
import { createDownloadSlots } from './download-slots.js';
import { parseDuration } from '../core/duration.js';
import { pkiDirOption, pkiFiles } from '../pki/pki-folder.js';
import { createMetrics } from './metrics.js';
import { startServerStats, type ServerStatsSource } from './admin/server-stats.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Base URL the server answers on, e.g. http://127.0.0.1:6090 */
  readonly url: string;
  readonly port: number;
  /** Reloads the server certificate (also done on file change); undefined when serving plain HTTP. */
  readonly tls: TlsReloader | undefined;
  /** The admin API listener; `firstAdminKey` is set only on the very first start, to be shown once. */
  readonly admin: {
    readonly app: FastifyInstance;
    readonly url: string;
    readonly port: number;
    readonly firstAdminKey: string | null;
    /** The web dashboard's address (same listener). */
    readonly dashboard: string;
    /** Reloads the admin listener's certificate (also done on file change); undefined when it speaks plain HTTP. */
    readonly tls: TlsReloader | undefined;
  };
  /** Advances rollouts every config.rolloutInterval seconds. */
  readonly rolloutEngine: RolloutEngine;
  /** Settles once the passes the server starts with (the first notice sweep) have ended, failed or not. */
  readonly settled: Promise<void>;
  close(): Promise<void>;
}

/** Options that are not configuration: where the built dashboard is (tests build their own). */
export interface ServeOptions {
  readonly dashboardDir?: string;
  /** Station CA folder for rotations (through the API and by rotation rollouts); default as the CLI: BSCUPS_PKI_DIR or ./data/pki. */
  readonly pkiDir?: string;
  /** The open-file limit to fit the connection caps into; read from the process when absent. */
  readonly openFileLimit?: number;
}

/** The only place that binds a port. */
export async function serve(runtime: Runtime, config: Config, logger: Logger, options: ServeOptions = {}): Promise<RunningServer> {
  config = withinFileLimit(config, logger, options.openFileLimit ?? readOpenFileLimit());
  const tlsPaths: TlsFilePaths | undefined =
    config.tlsCert !== undefined && config.tlsKey !== undefined ? { cert: config.tlsCert, key: config.tlsKey, clientCa: config.clientCa } : undefined;
  const material = tlsPaths === undefined ? undefined : await readTlsMaterial(tlsPaths);
  // One set of metrics for the station port's /metrics and the dashboard's rates, read through the admin API;
  // the fleet and rollout gauges are on the admin listener's /metrics (routes/metrics.ts).
  const metrics = createMetrics();
  const stats = startServerStats(metrics);
  const downloads = createDownloadSlots(config.maxConcurrentDownloads === 0 ? null : config.maxConcurrentDownloads);
  const app = await createApp({
    metrics,
    registry: runtime.registry,
    blobs: runtime.blobs,
    logger,
    bodyLimit: config.bodyLimit,
    allowUnauthenticated: config.allowUnauthenticated,
    limits: limitsFromConfig(config),
    refusalLogIntervalMs: config.refusalLogInterval * 1000,
    health: healthThresholds(config),
    downloads,
    ...(material === undefined ? {} : { https: httpsOptions(material) }),
  });
  const stationDrain = trackConnections(app.server);
  try {
    await app.listen({ host: config.host, port: config.port, listenTextResolver: listeningText(material !== undefined) });
  } catch (e) {
    await app.close();
    throw listenError(e, config);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${material === undefined ? 'http' : 'https'}://${host}:${port}`;
  logger.info(
    { url, database: redact(config.database), blobs: redact(config.blobs), ...(material === undefined ? {} : { certificate: material.info, mutualTls: material.clientCa !== undefined }) },
    'bscups serving',
  );
  warnAboutAuth(config, logger);
  if (material !== undefined && !config.allowUnauthenticated) await warnAboutUnauthenticatedStations(runtime, logger);
  // The admin API nudges the engine after rollout changes; the engine starts once both listeners are up.
  let nudge = (): void => undefined;
  const admin = await listenAdmin(runtime, config, logger, stats, { ...options, rolloutsChanged: () => nudge(), rolloutPolicy: { needApproval: config.rolloutsNeedApproval, maxConcurrentDownloads: downloads.max, downloadsInFlight: downloads.inFlight } }).catch(async (e: unknown) => {
    stats.stop();
    await app.close();
    throw e;
  });
  const tls = tlsPaths === undefined ? undefined : watchTlsFiles(app.server as unknown as TlsServer, tlsPaths, logger);
  const sweep = startEventSweep(runtime.registry, logger);
  const pkiDir = options.pkiDir ?? pkiDirOption(undefined);
  const credentials = { registry: runtime.registry, blobs: runtime.blobs, stationCa: () => loadStationCa(pkiDir) };
  const rolloutEngine = startRolloutEngine({ rollouts: runtime.rollouts, fleet: runtime.fleet, clock: () => new Date(), credentials, health: healthThresholds(config) }, logger, config.rolloutInterval * 1000);
  nudge = rolloutEngine.nudge;
  const renewal = startRenewal(runtime, config, logger, credentials.stationCa);
  const webhooks = startWebhookWorker({
    store: runtime.webhooks,
    clock: () => new Date(),
    logger,
    intervalMs: config.webhookInterval * 1000,
    timeoutMs: config.webhookTimeout * 1000,
    disableAfter: config.webhookDisableAfter,
    firstRetryMs: config.webhookFirstRetry * 1000,
    maxBackoffMs: WEBHOOK_DEFAULTS.maxBackoffMs,
    retryForMs: config.webhookRetryFor * 1000,
  });
  const notices = startNoticeSweep(
    {
      store: runtime.webhooks,
      clock: () => new Date(),
      health: healthThresholds(config),
      files: { server: config.tlsCert, stationCa: pkiFiles(pkiDir).caCert },
      logger,
    },
    config.noticeInterval * 1000,
  );
  warnAboutServerCertificate(material?.info, config, logger, new Date());
  return {
    app,
    url,
    port,
    tls,
    admin,
    rolloutEngine,
    settled: notices.runOnce().then(
      () => undefined,
      () => undefined,
    ),
    async close() {
      sweep.stop();
      stats.stop();
      await rolloutEngine.stop();
      await renewal?.stop();
      await webhooks.stop();
      await notices.stop();
      tls?.close();
      admin.tls?.close();
      // Idle connections go at once, answers in progress get config.drainTimeout, on both listeners.
      const drainMs = config.drainTimeout * 1000;
      await Promise.all([stationDrain.drain(drainMs, () => app.close()), admin.drain.drain(drainMs, () => admin.app.close())]);
    },
  };
}

/** The admin API on its own address, so the station port never serves it; creates the first admin key once. */
async function listenAdmin(
  runtime: Runtime,
  config: Config,
  logger: Logger,
  serverStats: ServerStatsSource,
  options: ServeOptions & { rolloutsChanged: () => void; rolloutPolicy: RolloutPolicy },
): Promise<RunningServer['admin'] & { readonly drain: Drainer }> {
  const tlsPaths: TlsFilePaths | undefined =
    config.adminTlsCert !== undefined && config.adminTlsKey !== undefined ? { cert: config.adminTlsCert, key: config.adminTlsKey } : undefined;
  const flags = { cert: '--admin-tls-cert', key: '--admin-tls-key' };
  const material = tlsPaths === undefined ? undefined : await readTlsMaterial(tlsPaths, flags);
  const app = await createAdminApp({
    ...(material === undefined ? {} : { https: httpsOptions(material) }),
    serverStats,
    rolloutsChanged: options.rolloutsChanged,
    rolloutPolicy: options.rolloutPolicy,
    ...(options.dashboardDir === undefined ? {} : { dashboardDir: options.dashboardDir }),
    ...(options.pkiDir === undefined ? {} : { pkiDir: options.pkiDir }),
    ...(config.tlsCert === undefined ? {} : { serverCertFile: config.tlsCert }),
    registry: runtime.registry,
    fleet: runtime.fleet,
    access: runtime.access,
    rollouts: runtime.rollouts,
    webhooks: runtime.webhooks,
    blobs: runtime.blobs,
    logger,
    clock: () => new Date(),
    limits: adminLimitsFromConfig(config),
    health: healthThresholds(config),
  });
  const drain = trackConnections(app.server);
  try {
    await app.listen({ host: config.adminHost, port: config.adminPort, listenTextResolver: listeningText(material !== undefined) });
  } catch (e) {
    await app.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw unavailable('admin_port_in_use', `admin API port ${config.adminPort} on ${config.adminHost} is already in use (another bscups serve?): choose another with --admin-port (env BSCUPS_ADMIN_PORT)`, e);
    }
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.adminPort;
  const host = config.adminHost.includes(':') ? `[${config.adminHost}]` : config.adminHost;
  const dashboard = `${material === undefined ? 'http' : 'https'}://${host}:${port}/`;
  const url = `${dashboard}api/v1`;
  logger.info({ url, reference: `${url}/docs`, dashboard, ...(material === undefined ? {} : { certificate: material.info }) }, 'admin API serving');
  if (material === undefined && !['127.0.0.1', '::1', 'localhost'].includes(config.adminHost)) {
    logger.warn({ adminHost: config.adminHost }, 'the admin API speaks plain HTTP: API keys, issued private keys and tokens cross the network in clear; give --admin-tls-cert and --admin-tls-key, or keep --admin-host on loopback');
  }
  const firstAdminKey = await ensureFirstAdminKey(runtime.access, new Date()).catch(async (e: unknown) => {
    await app.close();
    throw e;
  });
  const tls = tlsPaths === undefined ? undefined : watchTlsFiles(app.server as unknown as TlsServer, tlsPaths, logger.child({ listener: 'admin' }), flags);
  return { app, url, port, firstAdminKey, dashboard, tls, drain };
}

/**
 * The config with both connection caps fitted into the process's open-file
 * limit (see fitConnectionCaps): a flood on one listener then runs into its
 * own cap, never into the limit the other listener and the database share.
 */
function withinFileLimit(config: Config, logger: Logger, limit: number | undefined): Config {
  const fitted = fitConnectionCaps(
    {
      station: config.maxConnections,
      admin: config.adminMaxConnections,
      stationGiven: config.maxConnections !== DEFAULTS.maxConnections,
      adminGiven: config.adminMaxConnections !== DEFAULTS.adminMaxConnections,
    },
    limit,
  );
  if (fitted.lowered.length === 0) return config;
  logger.warn(
    { openFileLimit: limit, maxConnections: fitted.station, adminMaxConnections: fitted.admin },
    `connection caps lowered to fit the open-file limit of ${limit} (${fitted.lowered.join(', ')}); raise the limit (ulimit -n, LimitNOFILE=) to serve more`,
  );
  return Object.freeze({ ...config, maxConnections: fitted.station, adminMaxConnections: fitted.admin });
}

/**
 * Fastify's "Server listening at …" line, with the scheme the listener speaks: its own
 * guess reads only its `https` option, which a listener built on its own node server lacks.
 */
function listeningText(tls: boolean): (address: string) => string {
  return (address) => `Server listening at ${tls ? address.replace(/^http:\/\//, 'https://') : address}`;
}

/** A bind failure as one line that names the address and what to do; other errors pass through. */
function listenError(e: unknown, config: Config): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') {
    return unavailable('port_in_use', `port ${config.port} on ${config.host} is already in use (another bscups serve?): stop that process or choose another port with --port (env BSCUPS_PORT)`, e);
  }
  if (code === 'EACCES') {
    return unavailable('port_not_permitted', `not allowed to listen on ${where}: ports below 1024 need privileges; choose a port above 1023 with --port`, e);
  }
  if (code === 'EADDRNOTAVAIL') {
    return unavailable('address_not_available', `cannot listen on ${where}: this machine has no address ${config.host}; check --host (env BSCUPS_HOST)`, e);
  }
  return e;
}

/** Says at start which stations cannot get in, so a refused gateway is not a mystery. */
function warnAboutAuth(config: Config, logger: Logger): void {
  if (config.allowUnauthenticated) {
    logger.warn('--allow-unauthenticated: stations with auth mode none are served without credentials; anyone who knows an EUI gets its credentials. Use only for a local test setup.');
  }
  if (config.tlsCert === undefined) {
    logger.warn('serving plain HTTP: mutual TLS and token stations cannot authenticate; give --tls-cert and --tls-key for gateways on a network');
  } else if (config.clientCa === undefined) {
    logger.warn('no --client-ca: client certificates are not requested, so stations in mtls mode are refused');
  }
}

/** Below this many days left, the server certificate is announced at start. */
export const SERVER_CERT_WARN_DAYS = 30;

/** Says at start that the station listener's certificate expires soon: stations refuse an expired one, all at once. */
function warnAboutServerCertificate(info: { readonly notAfter: string } | undefined, config: Config, logger: Logger, now: Date): void {
  if (info === undefined) return;
  const days = (Date.parse(info.notAfter) - now.getTime()) / 86_400_000;
  if (days > SERVER_CERT_WARN_DAYS) return;
  const renew = 'issue a new one under the same CA with "bscups pki init --force --server-name <name>" (picked up without a restart)';
  if (days <= 0) logger.warn({ certificate: config.tlsCert, notAfter: info.notAfter }, `the server certificate has expired: stations refuse it; ${renew}`);
  else logger.warn({ certificate: config.tlsCert, notAfter: info.notAfter, daysLeft: Math.floor(days) }, `the server certificate expires in ${Math.floor(days)} days: stations will refuse it then; ${renew}`);
}

/** Starts renewing station certificates when --renew-station-certs-before is given. */
function startRenewal(runtime: Runtime, config: Config, logger: Logger, stationCa: () => Promise<StationCa>): CertificateRenewal | undefined {
  if (config.renewStationCertsBefore === undefined) return undefined;
  const policy = { beforeMs: parseDuration(config.renewStationCertsBefore, '--renew-station-certs-before'), maxPerMinute: config.maxOffersPerMinute };
  logger.info({ renewBefore: config.renewStationCertsBefore, maxOffersPerMinute: config.maxOffersPerMinute }, 'renewing station certificates before they expire');
  const deps = { registry: runtime.registry, fleet: runtime.fleet, access: runtime.access, rollouts: runtime.rollouts, blobs: runtime.blobs, clock: () => new Date(), stationCa };
  return startCertificateRenewal(deps, policy, logger, config.rolloutInterval * 1000);
}

/**
 * A TLS server without --allow-unauthenticated refuses every station in auth mode
 * `none` (typically those registered while trying the quickstart): says so at start,
 * with how many, the first few, and how to give them a credential. Read a page at a time.
 */
async function warnAboutUnauthenticatedStations(runtime: Runtime, logger: Logger): Promise<void> {
  let count = 0;
  const first: string[] = [];
  for (let after: string | null = null; ;) {
    const page = await runtime.fleet.exportStations(after, 1000);
    for (const s of page) {
      if (s.authMode !== 'none') continue;
      count++;
      if (first.length < 5) first.push(s.eui);
    }
    if (page.length < 1000) break;
    after = (page.at(-1) as { eui: string }).eui;
  }
  if (count === 0) return;
  logger.warn(
    { stations: count, first },
    `${count} station(s) in auth mode none will be refused: this TLS server does not serve unauthenticated stations. ` +
      `Give each a credential: "bscups station issue-cert EUI --out DIR" (or "bscups station issue-token EUI --out DIR"), copy the files to the gateway's home and point its cups.uri at this https:// address`,
  );
}

/** Hides passwords and account keys in connection strings before logging. */
export function redact(location: string): string {
  return location
    .replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@')
    .replace(/(AccountKey=)[^;]+/i, '$1***')
    .replace(/(sig=)[^&]+/i, '$1***');
}
