import type { Command } from 'commander';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { cupsUriOption, euiArg, parseLabels, tcUriOption } from './parse.js';
import { stationView } from './view.js';

export function register(parent: Command): void {
  parent
    .command('add')
    .description('register a station so it gets answers (unregistered stations get 404 and are listed by "station unknown")')
    .argument('<eui>', 'station EUI: 16 hex digits, ID6 (16:c001:ff10:a235) or byte groups')
    .option('--name <name>', 'a human name')
    .option('--label <key=value>', 'a label, repeatable', collect)
    .option('--cups-uri <uri>', 'CUPS URI the station should use, e.g. https://cups.example.com:443')
    .option('--tc-uri <uri>', 'LNS (TC) URI the station should use, e.g. wss://lns.example.com:6887')
    .action(async (eui: string, opts: { name?: string; label?: string[]; cupsUri?: string; tcUri?: string }, cmd: Command) => {
      const id = euiArg(eui);
      const labels = parseLabels(opts.label, false) as Record<string, string>;
      const cupsUri = cupsUriOption(opts.cupsUri);
      const tcUri = tcUriOption(opts.tcUri);
      await runActions(cmd, async (actions, out) => {
        const station = await actions.registerStation({
          eui: id,
          name: opts.name ?? null,
          labels,
          ...(cupsUri === undefined ? {} : { cupsUri }),
          ...(tcUri === undefined ? {} : { tcUri }),
        });
        out.result(stationView(station), () => out.line(`registered station ${station.eui}`));
      });
    });
}
