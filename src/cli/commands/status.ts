import type { Command } from 'commander';
import { DEFAULT_SILENT_AFTER } from '../../operations/fleet.js';
import { runActions } from '../run-actions.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('fleet summary: stations by sync state, package and model, silent stations, upgrades by state, gateway health')
    .option('--silent-after <duration>', `count a station silent after this long without contact (default ${DEFAULT_SILENT_AFTER})`)
    .action(async (opts: { silentAfter?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const s = await actions.fleetSummary(opts.silentAfter === undefined ? {} : { silentAfter: opts.silentAfter });
        out.result(s, () => {
          const rows = Object.entries(s.byState).map(([state, stations]) => ({ state: state.replaceAll('_', ' '), stations }));
          rows.push({ state: 'total', stations: s.total });
          rows.push({ state: `silent > ${opts.silentAfter ?? DEFAULT_SILENT_AFTER}`, stations: s.silent });
          out.table(rows, ['state', 'stations']);
          out.line();
          out.table(s.byPackage.map((p) => ({ package: p.value ?? '(none)', stations: p.count })), ['package', 'stations']);
          out.line();
          out.table(s.byModel.map((m) => ({ model: m.value ?? '(none)', stations: m.count })), ['model', 'stations']);
          out.line();
          out.table(Object.entries(s.upgrades).map(([state, upgrades]) => ({ 'upgrade state': state, upgrades })), ['upgrade state', 'upgrades']);
          out.line();
          // Healthy means no sign of failure in the rhythm of its calls, not proof that it works (README "Gateway health").
          out.table(Object.entries(s.byHealth).map(([health, stations]) => ({ health: health.replaceAll('_', ' '), stations })), ['health', 'stations']);
        });
      });
    });
}
