import { once } from 'node:events';
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../../config.js';
import { serve } from '../../http/serve.js';
import { openRuntime } from '../../runtime.js';
import type { GlobalOptions } from '../context.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the CUPS server (POST /update-info) until SIGINT/SIGTERM')
    .option('--host <address>', 'address to bind (env BSCUPS_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to bind, 0 for any free one (env BSCUPS_PORT, default 6090)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM server certificate (env BSCUPS_TLS_CERT); reloaded on change and on SIGHUP')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (env BSCUPS_TLS_KEY)')
    .option('--client-ca <file>', 'PEM CA that signs station client certificates: enables mutual TLS (env BSCUPS_CLIENT_CA)')
    .option('--allow-unauthenticated', 'serve stations whose auth mode is none, without credentials: a local quickstart only (env BSCUPS_ALLOW_UNAUTHENTICATED)')
    .addHelpText(
      'after',
      '\nPoint a gateway at it by writing the URI into its cups.uri, e.g.\n  echo https://192.0.2.10:6090 > cups.uri\nand bind with --host 0.0.0.0 so it is reachable from the network. For gateways on a network:\n' +
        '  bscups pki init --server-name cups.example.com\n  bscups serve --host 0.0.0.0 --tls-cert data/pki/server.pem --tls-key data/pki/server.key --client-ca data/pki/ca.pem\n' +
        'Without TLS only --allow-unauthenticated stations get answers (local tests).',
    )
    .action(async (opts: { host?: string; port?: string; tlsCert?: string; tlsKey?: string; clientCa?: string; allowUnauthenticated?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadConfig({
        database: g.database,
        blobs: g.blobs,
        logLevel: g.logLevel,
        host: opts.host,
        port: opts.port,
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
        clientCa: opts.clientCa,
        allowUnauthenticated: opts.allowUnauthenticated,
      });
      const logger = pino({ level: config.logLevel });
      const runtime = await openRuntime(config, { serving: true });
      try {
        const server = await serve(runtime, config, logger);
        // Tests and scripts read the bound address from this line on stdout.
        if (g.json === true) process.stdout.write(`${JSON.stringify({ listening: server.url })}\n`);
        // SIGHUP swaps the server certificate in place (the reloader logs the outcome).
        const onHangup = (): void => void server.tls?.reload('SIGHUP').catch(() => undefined);
        if (server.tls !== undefined) process.on('SIGHUP', onHangup);
        await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
        process.off('SIGHUP', onHangup);
        logger.info('shutting down');
        await server.close();
      } finally {
        await runtime.close();
      }
    });
}
