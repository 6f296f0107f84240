import type { Command } from 'commander';
import { collect, runWithRuntime } from '../../context.js';
import { euiArg, parseLabels } from '../station/parse.js';

export function register(parent: Command): void {
  parent
    .command('status')
    .description('each station\'s firmware target, upgrade state (pending, offered, upgraded, failed), offers and last error')
    .option('--station <eui...>', 'only these stations')
    .option('--label <key=value>', 'only stations with this label, repeatable', collect)
    .action(async (opts: { station?: string[]; label?: string[] }, cmd: Command) => {
      const only = new Set((opts.station ?? []).map(euiArg));
      const labels = parseLabels(opts.label, false) as Record<string, string>;
      await runWithRuntime(cmd, async ({ registry }, out) => {
        const stations = (await registry.listStations({ labels })).filter((s) => s.firmware !== null && (only.size === 0 || only.has(s.eui)));
        const rows = stations.map((s) => ({
          eui: s.eui,
          target: s.firmware?.package,
          reported: s.reported?.package ?? null,
          state: s.firmware?.state,
          offers: `${s.firmware?.offers}/${s.firmware?.maxOffers}`,
          upgraded: s.firmware?.upgradedAt ?? null,
          error: s.firmware?.lastError ?? s.problem,
        }));
        out.result(
          stations.map((s) => ({ eui: s.eui, reportedPackage: s.reported?.package ?? null, problem: s.problem, firmware: s.firmware })),
          () => out.table(rows, ['eui', 'target', 'reported', 'state', 'offers', 'upgraded', 'error']),
        );
      });
    });
}
