import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { collectUnusedBlobs } from '../../../operations/blobs-gc.js';
import { runWithRuntime } from '../../context.js';

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
      const minAgeMs = parseDuration(opts.minAge);
      await runWithRuntime(cmd, async ({ registry, rollouts, blobs }, out) => {
        const r = await collectUnusedBlobs({ registry, library: rollouts, blobs, clock: () => new Date() }, { delete: opts.delete === true, minAgeMs });
        out.result(r, () => {
          out.table(
            r.blobs.map((b) => ({ container: b.container, name: b.name, size: b.size, modified: b.lastModified, why: b.reason, deleted: b.deleted ? 'yes' : '' })),
            ['container', 'name', 'size', 'modified', 'why', 'deleted'],
          );
          if (r.blobs.length === 0) out.line('nothing to collect');
          else if (r.dryRun) out.line(`${r.blobs.length} unused blob(s), ${r.bytes} bytes; run again with --delete to remove them`);
          else out.line(`deleted ${r.blobs.filter((b) => b.deleted).length} of ${r.blobs.length} unused blob(s)`);
        });
      });
    });
}

function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim());
  if (m === null) throw invalid('invalid_min_age', `--min-age must be a number with s, m, h or d (e.g. 30m, 1h, 0s), got "${text}"`, { field: '--min-age' });
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
