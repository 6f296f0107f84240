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
    .addHelpText('after', '\nPoint a gateway at it by writing the URI into its cups.uri, e.g.\n  echo http://192.0.2.10:6090 > cups.uri\nand bind with --host 0.0.0.0 so it is reachable from the network.')
    .action(async (opts: { host?: string; port?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadConfig({ database: g.database, blobs: g.blobs, logLevel: g.logLevel, host: opts.host, port: opts.port });
      const logger = pino({ level: config.logLevel });
      const runtime = await openRuntime(config);
      try {
        const server = await serve(runtime, config, logger);
        // Tests and scripts read the bound address from this line on stdout.
        if (g.json === true) process.stdout.write(`${JSON.stringify({ listening: server.url })}\n`);
        await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
        logger.info('shutting down');
        await server.close();
      } finally {
        await runtime.close();
      }
    });
}
