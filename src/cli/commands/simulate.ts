import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { CupsError, invalid } from '../../core/errors.js';
import { validateCupsUri } from '../../protocol/index.js';
import { createSimulatedStation, initStationHome, type ExchangeResult } from '../../simulator/index.js';
import { commandContext } from '../context.js';
import { euiArg } from './station/parse.js';

interface Options {
  home: string;
  eui: string;
  init?: string;
  version?: string;
  loop?: boolean;
  maxExchanges?: string;
  intervalMs?: string;
  model?: string;
}

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
    .option('--version <package>', 'with --init: initial version.txt')
    .option('--model <model>', 'model reported to the server', 'linux')
    .option('--loop', 'keep going with the station\'s own timing (24 h after success, 1 min after failure or CUPS change)')
    .option('--max-exchanges <n>', 'with --loop: stop after this many exchanges', '10')
    .option('--interval-ms <ms>', 'with --loop: fixed interval instead of the station timing')
    .action(async (opts: Options, cmd: Command) => {
      const { out } = commandContext(cmd);
      const eui = euiArg(opts.eui);
      if (opts.init !== undefined) {
        await initStationHome(opts.home, { cupsUri: validateCupsUri(opts.init, '--init'), version: opts.version ?? null });
      } else {
        await access(opts.home).catch(() => {
          throw invalid('no_home', `--home ${opts.home} does not exist; create it with --init http://host:port`);
        });
      }
      const station = createSimulatedStation({ home: opts.home, eui, model: opts.model, log: out.json ? undefined : (l) => out.note(l) });
      const results: ExchangeResult[] = opts.loop === true
        ? await station.run({
            maxExchanges: Number(opts.maxExchanges),
            ...(opts.intervalMs === undefined ? {} : { intervalMs: Number(opts.intervalMs) }),
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
