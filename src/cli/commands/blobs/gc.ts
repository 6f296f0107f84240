import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { at } from '../station/view.js';

interface Options {
  delete?: boolean;
  minAge: string;
}

export function register(parent: Command): void {
  parent
    .command('gc')
    .description(
      'list stored firmware no station targets nor the firmware library holds, and credential blobs no station\'s desired state names (a dry run); ' +
        '--delete removes them. Blobs younger than --min-age are left alone: an upload or credential change may still be running',
    )
    .option('--delete', 'delete what is listed')
    .option('--min-age <duration>', 'only blobs at least this old: a number with s, m, h or d', '1h')
    .action(async (opts: Options, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const r = await actions.collectBlobs({ delete: opts.delete === true, minAge: opts.minAge });
        out.result(r, () => {
          out.table(
            r.blobs.map((b) => ({ container: b.container, name: b.name, size: b.size, modified: at(b.lastModified), why: b.reason, deleted: b.deleted ? 'yes' : '' })),
            ['container', 'name', 'size', 'modified', 'why', 'deleted'],
          );
          if (r.blobs.length === 0) out.line('nothing to collect');
          else if (r.dryRun) out.line(`${r.blobs.length} unused blob(s), ${r.bytes} bytes; run again with --delete to remove them`);
          else out.line(`deleted ${r.blobs.filter((b) => b.deleted).length} of ${r.blobs.length} unused blob(s)`);
        });
      });
    });
}
