import type { Command } from 'commander';
import { notFound } from '../../../core/errors.js';
import { runWithRuntime } from '../../context.js';
import { credentialBlobPrefix } from '../../../operations/credential-blob.js';
import { euiArg } from './parse.js';

export function register(parent: Command): void {
  parent
    .command('remove')
    .description('unregister a station and delete its credential blobs (shared firmware files stay)')
    .argument('<eui>', 'station EUI')
    .action(async (eui: string, _opts: unknown, cmd: Command) => {
      const id = euiArg(eui);
      await runWithRuntime(cmd, async ({ registry, blobs }, out) => {
        // Listed first: a blob store that cannot be reached then stops the command before the station is gone.
        const names = await blobs.list('stationcredentials', credentialBlobPrefix(id));
        const removed = await registry.removeStation(id);
        if (!removed) throw notFound('station_not_found', `station ${id} is not registered`);
        for (const name of names) await blobs.delete('stationcredentials', name);
        out.result({ eui: id, removed: true, blobsDeleted: names.length }, () =>
          out.line(`removed station ${id} and ${names.length} credential blob(s)`),
        );
      });
    });
}
