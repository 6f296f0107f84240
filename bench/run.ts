/**
 * `npm run bench [-- [--quick] [--cpu-prof DIR] [update-info|fanout|storm ...]]`
 *
 * Runs the benchmarks (all by default), prints each table as Markdown on stdout
 * and writes them all to bench/results.md with the date, Node version and core
 * count. Progress goes to stderr. Every server runs in a child process bound to
 * 127.0.0.1; a watchdog ends the run if anything hangs.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { compileServerChild } from './compile-child.js';
import { runFanout } from './fanout.js';
import { runFleetListing } from './fleet-listing.js';
import { runImportLoad } from './import-load.js';
import { Cleanup } from './fixtures.js';
import type { BenchSettings } from './settings.js';
import { runStorm } from './storm.js';
import { renderTable, type Table } from './table.js';
import { runUpdateInfo } from './update-info.js';

const BENCHMARKS: Record<string, (s: BenchSettings) => Promise<Table>> = {
  'update-info': runUpdateInfo,
  fanout: runFanout,
  storm: runStorm,
  'fleet-listing': runFleetListing,
  'import-load': runImportLoad,
};
const RESULTS = fileURLToPath(new URL('./results.md', import.meta.url));
/** Far above a normal full run (~5 min): only a hang gets here. */
const WATCHDOG_MS = 20 * 60_000;

const USAGE = `usage: npm run bench -- [--quick] [--cpu-prof DIR] [${Object.keys(BENCHMARKS).join('|')} ...]`;

function parseArgs(argv: readonly string[]): { names: string[]; quick: boolean; cpuProfDir?: string } {
  const names: string[] = [];
  let quick = false;
  let cpuProfDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--quick') quick = true;
    else if (arg === '--cpu-prof') {
      cpuProfDir = argv[++i];
      if (cpuProfDir === undefined) throw new Error(`--cpu-prof needs a folder\n${USAGE}`);
    } else if (arg in BENCHMARKS) names.push(arg);
    else throw new Error(`unknown argument "${arg}"\n${USAGE}`);
  }
  return { names: names.length === 0 ? Object.keys(BENCHMARKS) : names, quick, ...(cpuProfDir === undefined ? {} : { cpuProfDir }) };
}

function header(quick: boolean, names: readonly string[], startedAt: Date, seconds: number, loadBefore: number): string {
  const cpu = cpus();
  return [
    '# Benchmark results',
    '',
    `${startedAt.toISOString()} · Node ${process.version} · ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}) · ${platform()} ${release()}`,
    '',
    `\`npm run bench${quick ? ' -- --quick' : ''}\`: ${names.join(', ')}${quick ? ' (QUICK: smaller counts, not for the README)' : ''}; took ${seconds.toFixed(0)} s.`,
    // Servers and load generator share the cores: anything else running lowers every number.
    `1-minute load average before the run: ${loadBefore.toFixed(2)}${loadBefore > 0.5 ? ' (the box was busy with other work; expect lower numbers than on an idle machine)' : ''}.`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const startedAt = new Date();
  const loadBefore = loadavg()[0] ?? 0;
  const cleanup = new Cleanup();
  const tables: string[] = [];
  try {
    const child = await compileServerChild();
    cleanup.add(() => child.dispose());
    const settings: BenchSettings = { childEntry: child.entry, quick: args.quick, log, ...(args.cpuProfDir === undefined ? {} : { cpuProfDir: args.cpuProfDir }) };
    for (const name of args.names) {
      const run = BENCHMARKS[name] as (s: BenchSettings) => Promise<Table>;
      const text = renderTable(await run(settings));
      process.stdout.write(`\n${text}`);
      tables.push(text);
    }
  } finally {
    await cleanup.run();
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  await writeFile(RESULTS, `${header(args.quick, args.names, startedAt, seconds, loadBefore)}\n${tables.join('\n')}`);
  log(`done in ${seconds.toFixed(0)} s; tables written to ${RESULTS}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, cleaning up (server children exit with their parent)`);
    // A second signal while cleaning up ends the process at once.
    process.once(signal, () => process.exit(130));
    void Cleanup.runAll().finally(() => process.exit(130));
  });
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 60_000} min; giving up (server children exit when this process does)`);
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
