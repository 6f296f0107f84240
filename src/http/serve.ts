import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Runtime } from '../runtime.js';
import { unavailable } from '../core/errors.js';
import { createApp } from './app.js';
import { limitsFromConfig } from './connection-limits.js';
import { httpsOptions, readTlsMaterial, type TlsFilePaths } from './tls-files.js';
import { watchTlsFiles, type TlsReloader } from './tls-reload.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Base URL the server answers on, e.g. http://127.0.0.1:6090 */
  readonly url: string;
  readonly port: number;
  /** Reloads the server certificate (also done on file change); undefined when serving plain HTTP. */
  readonly tls: TlsReloader | undefined;
  close(): Promise<void>;
}

/** The only place that binds a port. */
export async function serve(runtime: Runtime, config: Config, logger: Logger): Promise<RunningServer> {
  const tlsPaths: TlsFilePaths | undefined =
    config.tlsCert !== undefined && config.tlsKey !== undefined ? { cert: config.tlsCert, key: config.tlsKey, clientCa: config.clientCa } : undefined;
  const material = tlsPaths === undefined ? undefined : await readTlsMaterial(tlsPaths);
  const app = await createApp({
    registry: runtime.registry,
    blobs: runtime.blobs,
    logger,
    bodyLimit: config.bodyLimit,
    allowUnauthenticated: config.allowUnauthenticated,
    limits: limitsFromConfig(config),
    ...(material === undefined ? {} : { https: httpsOptions(material) }),
  });
  try {
    await app.listen({ host: config.host, port: config.port });
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
  const tls = tlsPaths === undefined ? undefined : watchTlsFiles(app.server as unknown as TlsServer, tlsPaths, logger);
  return {
    app,
    url,
    port,
    tls,
    async close() {
      tls?.close();
      await app.close();
    },
  };
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

/** Hides passwords and account keys in connection strings before logging. */
export function redact(location: string): string {
  return location
    .replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@')
    .replace(/(AccountKey=)[^;]+/i, '$1***')
    .replace(/(sig=)[^&]+/i, '$1***');
}
