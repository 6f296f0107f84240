import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { euiArg } from '../station/parse.js';

export function register(parent: Command): void {
  parent
    .command('retry')
    .description('offer a failed (or stuck) upgrade again: state back to pending, offer count reset')
    .argument('<eui...>', 'station EUI(s)')
    .action(async (euis: string[], _opts: unknown, cmd: Command) => {
      const ids = euis.map(euiArg);
      await runActions(cmd, async (actions, out) => {
        const done: string[] = [];
        for (const id of ids) done.push((await actions.retryFirmware(id)).eui);
        out.result({ retried: done }, () => out.line(`upgrade will be offered again to ${done.join(', ')}`));
      });
    });
}
