import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isCupsError, type ErrorKind } from '../core/errors.js';
import { EXIT_CODE } from './exit-codes.js';
import { registerCommands } from './commands/index.js';
import { addExamples } from './examples.js';
import { visible } from './output.js';

// src/cli and dist/cli both sit two levels below the package root.
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function buildProgram(options: { readonly json?: boolean } = {}): Command {
  const program = new Command('bscups')
    .description('CUPS server and fleet manager for LoRa Basics Station gateways: endpoints, credentials, signed firmware.')
    .version(VERSION, '-V, --version', 'print the bscups version')
    .option('--database <url>', 'station registry: SQLite path or postgres:// URL (env BSCUPS_DATABASE, default ./data/registry.sqlite)')
    .option('--blobs <location>', 'blob store: folder, memory:, or Azure connection string (env BSCUPS_BLOBS, default ./data/blobs)')
    .option('--server <url>', 'work through the admin API of this bscups server, e.g. http://cups.example.com:6091 (env BSCUPS_SERVER); without it, on the local database')
    .option('--api-key <key>', 'API key for --server, sent as a bearer token (env BSCUPS_API_KEY)')
    .option('--server-ca <file>', 'PEM CA that signed the certificate of an https:// --server, e.g. ca.pem of "bscups pki init" (env BSCUPS_SERVER_CA)')
    .option('--allow-http', 'send the API key over plain http:// to a --server that is not this host; refused otherwise (env BSCUPS_ALLOW_HTTP=1)')
    .option('--json', 'print machine-readable JSON instead of tables, and errors as JSON on stderr')
    .option('--log-level <level>', 'server log level: fatal, error, warn, info, debug, trace, silent (env BSCUPS_LOG_LEVEL)')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // With --json a script reads stderr as JSON, so commander's own text must not get there.
  if (options.json === true) program.configureOutput({ writeErr: () => undefined });
  registerCommands(program);
  addExamples(program);
  return program;
}

/** What a failure looks like to a script: the same fields whatever raised it. */
interface ErrorReport {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly message: string;
}

function usageReport(e: CommanderError): ErrorReport {
  // A group run without a subcommand: commander shows the help as the error.
  if (e.code === 'commander.help') {
    return { code: 'missing_command', kind: 'invalid_argument', message: 'this command needs a subcommand; run it with --help to see them' };
  }
  const code = e.code.replace(/^commander\./, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return { code, kind: 'invalid_argument', message: e.message.replace(/^error: /, '') };
}

/** Whether --json was given to the program (before a `--` that ends the options). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Runs the CLI; the only place that decides the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  const program = buildProgram({ json });
  const fail = (report: ErrorReport, human: string): void => {
    process.stderr.write(json ? `${JSON.stringify({ error: report })}\n` : human);
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      // Commander has already printed its message in human mode.
      if (json) fail(usageReport(e), '');
      return EXIT_CODE.usage;
    }
    if (isCupsError(e)) {
      // The admin API's error shape, so a script reads the same JSON whether the CLI worked locally or through --server.
      const { code, kind, message } = e;
      fail({ code, kind, message }, `error: ${visible(message)} (${code})\n`);
      return EXIT_CODE[kind];
    }
    const message = e instanceof Error ? e.message : String(e);
    const stack = e instanceof Error ? (e.stack ?? message) : message;
    fail({ code: 'internal', kind: 'internal', message }, `internal error: ${stack.split('\n').map(visible).join('\n')}\n`);
    return EXIT_CODE.internal;
  }
}
