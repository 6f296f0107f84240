import type { Command } from 'commander';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { euiArg } from '../station/parse.js';
import { at } from '../station/view.js';

export function register(parent: Command): void {
  parent
    .command('status')
    .description('each station\'s firmware target, upgrade state (pending, offered, upgraded, failed), offers and last error')
    .option('--station <eui...>', 'only these stations')
    .option('--label <key=value>', 'only stations with this label, repeatable', collect)
    .action(async (opts: { station?: string[]; label?: string[] }, cmd: Command) => {
      const stations = (opts.station ?? []).map(euiArg);
      await runActions(cmd, async (actions, out) => {
        const status = await actions.firmwareStatus({ stations, labels: opts.label ?? [] });
        const rows = status.map((s) => ({
          eui: s.eui,
          target: s.firmware?.package,
          reported: s.reportedPackage,
          state: s.firmware?.state,
          offers: `${s.firmware?.offers}/${s.firmware?.maxOffers}`,
          upgraded: at(s.firmware?.upgradedAt),
          error: s.firmware?.lastError ?? s.problem,
        }));
        out.result(status, () => out.table(rows, ['eui', 'target', 'reported', 'state', 'offers', 'upgraded', 'error']));
      });
    });
}
