import type { Command } from 'commander';
import { localActor, type OperationContext } from '../operations/context.js';
import { runWithRuntime } from './context.js';
import type { Output } from './output.js';

/**
 * Runs a command body as an operation in direct-database mode: the local user
 * acts as admin (whoever holds the database credentials is one) and changes are
 * audited as `local:<user>` via cli.
 */
export async function runOperation(cmd: Command, fn: (ctx: OperationContext, out: Output) => Promise<void>): Promise<void> {
  await runWithRuntime(cmd, (rt, out) =>
    fn({ registry: rt.registry, fleet: rt.fleet, access: rt.access, blobs: rt.blobs, clock: () => new Date(), actor: localActor() }, out),
  );
}
