import type { Command } from 'commander';
import { collect, runWithRuntime } from '../../context.js';
import { parseLabels } from './parse.js';
import { stationRow, stationView } from './view.js';

export function register(parent: Command): void {
  parent
    .command('list')
    .description('list stations with model, package, last contact, and whether they are in sync or what is pending')
    .option('--label <key=value>', 'only stations with this label, repeatable', collect)
    .action(async (opts: { label?: string[] }, cmd: Command) => {
      const labels = parseLabels(opts.label, false) as Record<string, string>;
      await runWithRuntime(cmd, async ({ registry }, out) => {
        const stations = await registry.listStations({ labels });
        out.result(stations.map(stationView), () =>
          out.table(stations.map(stationRow), ['eui', 'name', 'model', 'package', 'last seen', 'status']),
        );
      });
    });
}
