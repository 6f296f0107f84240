import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BUILD_ENV } from './cli-entry.js';

// Vitest global setup: transpiles src/ (without tests and the dashboard, which vite builds) once per
// run for the CLI and `serve` child processes (see cli-entry.ts). The transform is tsx's own: the
// esbuild tsx depends on, with the options tsx passes (target this Node, names kept), one output file
// per source file, imports untouched. The folder sits beside src/ so the paths the code resolves from
// its own location (../../package.json, ../../../dist/web) land where they do for the source. One
// folder per run (by process id), removed at the end; folders of runs that died are swept first.
// In watch mode the transpile is the one made at start: restart vitest after changing src/ for
// tests that start child processes.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = '.test-cli-';

interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ errors: unknown[] }>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !relative(join(ROOT, 'src'), file).startsWith('web/'));
}

export default async function setup(): Promise<() => void> {
  for (const name of readdirSync(ROOT)) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(ROOT, name), { recursive: true, force: true });
  }
  const outdir = join(ROOT, `${PREFIX}${process.pid}`);
  // The esbuild tsx itself loads (resolved from tsx's own folder).
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx'))('esbuild') as Esbuild;
  await esbuild.build({
    entryPoints: sources(join(ROOT, 'src')),
    outbase: join(ROOT, 'src'),
    outdir,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    keepNames: true,
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
  });
  process.env[CLI_BUILD_ENV] = outdir;
  return () => rmSync(outdir, { recursive: true, force: true });
}
