import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Runtime } from '../runtime.js';
import { createApp } from './app.js';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** Base URL the server answers on, e.g. http://127.0.0.1:6090 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The only place that binds a port. */
export async function serve(runtime: Runtime, config: Config, logger: Logger): Promise<RunningServer> {
  const app = await createApp({
    registry: runtime.registry,
    blobs: runtime.blobs,
    logger,
    bodyLimit: config.bodyLimit,
  });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info({ url, database: redact(config.database), blobs: redact(config.blobs) }, 'bscups serving');
  return {
    app,
    url,
    port,
    async close() {
      await app.close();
    },
  };
}

/** Hides passwords and account keys in connection strings before logging. */
export function redact(location: string): string {
  return location
    .replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@')
    .replace(/(AccountKey=)[^;]+/i, '$1***')
    .replace(/(sig=)[^&]+/i, '$1***');
}
