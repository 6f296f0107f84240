import { loadConfig, type Config } from '../src/config.js';

/**
 * The config the bench gives the product, the same in the parent (setup) and
 * the server child. Environment variables are ignored so a BSCUPS_* setting in
 * the shell cannot change what is measured.
 */
export function benchConfig(options: { readonly database: string; readonly blobs: string; readonly logLevel?: string; readonly allowUnauthenticated?: boolean; readonly tls?: { readonly cert: string; readonly key: string } }): Config {
  return loadConfig(
    {
      database: options.database,
      blobs: options.blobs,
      logLevel: options.logLevel ?? 'info',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      // Plain-HTTP stations without credentials on loopback can only be measured on a
      // server told this is a test setup. A benchmark whose stations present their
      // tokens (over TLS) passes false: the server then runs as in production.
      allowUnauthenticated: options.allowUnauthenticated ?? true,
      tlsCert: options.tls?.cert,
      tlsKey: options.tls?.key,
    },
    {},
  );
}
