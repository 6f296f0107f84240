import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { cupsUriOption, euiArg, parseLabels, tcUriOption } from './parse.js';
import { stationView, syncText } from './view.js';

export function register(parent: Command): void {
  parent
    .command('set')
    .description('change what a station should use; it receives the change on its next CUPS request')
    .argument('<eui>', 'station EUI')
    .option('--name <name>', 'a human name ("" clears it)')
    .option('--label <key=value>', 'set a label (key= removes it), repeatable', collect)
    .option('--cups-uri <uri>', 'CUPS URI, e.g. https://cups.example.com:443')
    .option('--tc-uri <uri>', 'LNS (TC) URI, e.g. wss://lns.example.com:6887')
    .option('--revert-unhealthy', 'with --tc-uri: if the station\'s health turns lns_failing once it has the new TC URI (it calls CUPS early, on the 450 s beat), the one it had before is put back at its next exchange')
    .option('--force', 'set a URI although an active rollout of that URI holds the station (the rollout records it as changed outside it)')
    .action(async (eui: string, opts: { name?: string; label?: string[]; cupsUri?: string; tcUri?: string; force?: boolean; revertUnhealthy?: boolean }, cmd: Command) => {
      const id = euiArg(eui);
      const labels = parseLabels(opts.label, true);
      const cupsUri = cupsUriOption(opts.cupsUri);
      const tcUri = tcUriOption(opts.tcUri);
      if (opts.name === undefined && Object.keys(labels).length === 0 && cupsUri === undefined && tcUri === undefined) {
        throw invalid('nothing_to_set', 'nothing to change: give --name, --label, --cups-uri or --tc-uri');
      }
      await runActions(cmd, async (actions, out) => {
        const station = await actions.changeStation(id, {
          ...(opts.name === undefined ? {} : { name: opts.name === '' ? null : opts.name }),
          ...(Object.keys(labels).length === 0 ? {} : { labels }),
          ...(cupsUri === undefined ? {} : { cupsUri }),
          ...(tcUri === undefined ? {} : { tcUri }),
          ...(opts.force === true ? { force: true } : {}),
          ...(opts.revertUnhealthy === true ? { revertUnhealthy: true } : {}),
        });
        out.result(stationView(station), () => out.line(`updated station ${station.eui}: ${syncText(station)}`));
      });
    });
}
