import type { Command } from 'commander';
import { notFound } from '../../../core/errors.js';
import { runWithRuntime } from '../../context.js';
import { euiArg } from '../station/parse.js';

export function register(parent: Command): void {
  parent
    .command('retry')
    .description('offer a failed (or stuck) upgrade again: state back to pending, offer count reset')
    .argument('<eui...>', 'station EUI(s)')
    .action(async (euis: string[], _opts: unknown, cmd: Command) => {
      const ids = euis.map(euiArg);
      await runWithRuntime(cmd, async ({ registry }, out) => {
        const done: string[] = [];
        for (const id of ids) {
          const s = await registry.getStation(id);
          if (s === undefined) throw notFound('station_not_found', `station ${id} is not registered`);
          if (s.firmware === null) throw notFound('no_firmware_target', `station ${id} has no firmware target; use "bscups firmware upgrade"`);
          await registry.updateFirmware(id, { package: s.firmware.package, state: 'pending', resetOffers: true, lastError: null });
          await registry.appendEvents(id, [{ type: 'config', message: `firmware ${s.firmware.package} retry requested` }], new Date());
          done.push(id);
        }
        out.result({ retried: done }, () => out.line(`upgrade will be offered again to ${done.join(', ')}`));
      });
    });
}
