import { Command, CommanderError } from 'commander';
import { isCupsError } from '../core/errors.js';
import { EXIT_CODE } from './exit-codes.js';
import { registerCommands } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('bscups')
    .description('CUPS server and fleet manager for LoRa Basics Station gateways: endpoints, credentials, signed firmware.')
    .option('--database <url>', 'station registry: SQLite path or postgres:// URL (env BSCUPS_DATABASE, default ./data/registry.sqlite)')
    .option('--blobs <location>', 'blob store: folder, memory:, or Azure connection string (env BSCUPS_BLOBS, default ./data/blobs)')
    .option('--json', 'print machine-readable JSON instead of tables')
    .option('--log-level <level>', 'server log level: fatal, error, warn, info, debug, trace, silent (env BSCUPS_LOG_LEVEL)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  return program;
}

/** Runs the CLI; the only place that decides the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? 0 : EXIT_CODE.usage;
    }
    if (isCupsError(e)) {
      process.stderr.write(`error: ${e.message} (${e.code})\n`);
      return EXIT_CODE[e.kind];
    }
    process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_CODE.internal;
  }
}
