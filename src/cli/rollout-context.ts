import type { Command } from 'commander';
import { localActor } from '../operations/context.js';
import type { RolloutContext } from '../operations/firmware-library.js';
import { runWithRuntime } from './context.js';
import type { Output } from './output.js';

/** Like runOperation, with the firmware library and rollouts store (direct-database mode, local admin). */
export async function runRolloutOperation(cmd: Command, fn: (ctx: RolloutContext, out: Output, maxOffers: number) => Promise<void>): Promise<void> {
  await runWithRuntime(cmd, (rt, out) =>
    fn({ registry: rt.registry, fleet: rt.fleet, access: rt.access, rollouts: rt.rollouts, blobs: rt.blobs, clock: () => new Date(), actor: localActor() }, out, rt.config.maxOffers),
  );
}
