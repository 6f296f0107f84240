import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { conflict, CupsError, invalid } from '../../core/errors.js';
import { validateCupsUri } from '../../protocol/index.js';
import { createSimulatedStation, initStationHome, stationFilesIn, type ExchangeResult } from '../../simulator/index.js';
import { commandContext } from '../context.js';
import { euiArg } from './station/parse.js';

interface Options {
  home: string;
  eui: string;
  init?: string;
  package?: string;
  force?: boolean;
  loop?: boolean;
  maxExchanges?: string;
  intervalMs?: string;
  stationTiming?: boolean;
  timeScale?: string;
  tcOk?: boolean;
  model?: string;
}

/** A test tool should show the next exchange soon; the real station waits 24 h after a success. */
const DEFAULT_LOOP_INTERVAL_MS = 5_000;

export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'act as a Basics Station against any CUPS server: build the request from a home folder (cups.uri, tc.uri, ' +
        '{cups,tc}.{trust,crt,key}, version.txt, sig-N.key), apply the answer to the files, verify and run updates',
    )
    .requiredOption('--home <dir>', 'the station home folder')
    .requiredOption('--eui <eui>', 'station EUI')
    .option('--init <cups-uri>', 'create the home folder first, pointing cups.uri at this server')
    .option('--package <version>', 'with --init: initial version.txt (the package the station reports)')
    .option('--force', 'with --init: start over in a home that already holds station files, deleting them')
    .option('--model <model>', 'model reported to the server', 'linux')
    .option('--loop', `keep exchanging, every ${DEFAULT_LOOP_INTERVAL_MS / 1000} s unless --interval-ms or --station-timing says otherwise`)
    .option('--max-exchanges <n>', 'with --loop: stop after this many exchanges', '10')
    .option('--interval-ms <ms>', `with --loop: milliseconds between exchanges (default ${DEFAULT_LOOP_INTERVAL_MS})`)
    .option(
      '--station-timing',
      "with --loop: the real station's timing instead, from tc.uri's router-info (a WebSocket): 24 h after a success while it answers (or accepts and never answers), " +
        '60 s while it answers with an error, 450 s while it is refused or the upgrade fails, 1 min after a failure, a CUPS change or without tc.uri',
    )
    .option('--time-scale <factor>', 'with --station-timing: multiply every delay by this, e.g. 0.001 turns 450 s into 450 ms (tests, demos)')
    .option('--tc-ok', 'with --station-timing: take the LNS connection as working without trying it (a station whose LNS is up)')
    .action(async (opts: Options, cmd: Command) => {
      const { out } = commandContext(cmd);
      const eui = euiArg(opts.eui);
      if (opts.intervalMs !== undefined && opts.stationTiming === true) {
        throw invalid('conflicting_options', 'give --interval-ms or --station-timing, not both');
      }
      if ((opts.timeScale !== undefined || opts.tcOk === true) && opts.stationTiming !== true) {
        throw invalid('conflicting_options', '--time-scale and --tc-ok shape the station timing: give --station-timing with them');
      }
      if (opts.init !== undefined) {
        const cupsUri = validateCupsUri(opts.init, '--init');
        const existing = await stationFilesIn(opts.home);
        if (existing.length > 0 && opts.force !== true) {
          const credentials = existing.filter((f) => /\.(trust|crt|key)$/.test(f));
          throw conflict(
            'home_exists',
            `--home ${opts.home} already holds a station (${existing.join(', ')}); --init would delete ${
              credentials.length > 0 ? `its credentials (${credentials.join(', ')}), which the server may not hand out again, and ` : ''
            }its state. Drop --init to keep using it, or pass --force to start over.`,
            { field: '--init', files: existing },
          );
        }
        await initStationHome(opts.home, { cupsUri, version: opts.package ?? null });
      } else {
        await access(opts.home).catch(() => {
          throw invalid('no_home', `--home ${opts.home} does not exist; create it with --init http://host:port`);
        });
      }
      const station = createSimulatedStation({ home: opts.home, eui, model: opts.model, log: out.json ? undefined : (l) => out.note(l) });
      const results: ExchangeResult[] = opts.loop === true
        ? await station.run({
            maxExchanges: Number(opts.maxExchanges),
            ...(opts.stationTiming === true
              ? { ...(opts.timeScale === undefined ? {} : { timeScale: Number(opts.timeScale) }), tcOk: opts.tcOk === true }
              : { intervalMs: opts.intervalMs === undefined ? DEFAULT_LOOP_INTERVAL_MS : Number(opts.intervalMs) }),
          })
        : [await station.exchange()];
      out.result(results.map(summary), () => {
        for (const r of results) out.line(describe(r));
      });
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) throw new CupsError('exchange_failed', 'unavailable', `${failed} of ${results.length} exchange(s) failed; see above`);
    });
}

function summary(r: ExchangeResult): Record<string, unknown> {
  return {
    ok: r.ok,
    status: r.status,
    error: r.error,
    nothingToChange: r.nothingToChange,
    applied: r.applied,
    update: r.update,
    reported: { package: r.request.package, cupsCredCrc: r.request.cupsCredCrc, tcCredCrc: r.request.tcCredCrc, keys: r.request.keys },
  };
}

function describe(r: ExchangeResult): string {
  if (!r.ok) return `exchange failed: ${r.status} ${r.error ?? ''}`.trim();
  if (r.nothingToChange) return 'nothing to change';
  const update = r.update === undefined ? '' : `; update ${r.update.outcome}${r.update.ran ? `, ran (exit ${r.update.exitCode})` : ', not run'}`;
  return `applied ${r.applied.join(', ') || 'nothing'}${update}`;
}
