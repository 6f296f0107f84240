import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// How a test starts the real `bscups` in a child process: `node <what this returns> ARGS`.
//
// Under vitest, the global setup (test/support/cli-build-setup.ts) has transpiled src/ once for the
// run, file by file, with the same esbuild transform tsx applies on the fly, into a folder beside src/
// (so the CLI finds package.json and dist/web at the same relative places). A child then starts plain
// Node on that transpile: the same code, without tsx's loader hooks, which cost each child about as
// much CPU again as loading the CLI itself. Elsewhere (a bench run through tsx) the child runs the
// source through tsx, as before.

/** Set by the global setup for the whole run: the folder holding the transpiled src/. */
export const CLI_BUILD_ENV = 'TEST_CLI_BUILD_DIR';

const BIN_SOURCE = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
// By path, so the CLI also starts in a folder outside the project (tsx is resolved from here, not from cwd).
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** The Node arguments that run the real CLI entry point (src/cli/bin.ts), before the CLI's own arguments. */
export function cliEntryArgs(): string[] {
  const build = process.env[CLI_BUILD_ENV];
  return build === undefined || build === '' ? ['--import', TSX, BIN_SOURCE] : [join(build, 'cli', 'bin.js')];
}
