import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import type { FirmwareTargetArgs } from '../../actions.js';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { euiArg, parseLabels } from '../station/parse.js';
import { withProgress } from './progress.js';
import { signatureOptions, signedFile, type SignedFileOptions } from './signatures.js';

/** Without --file, --package names a firmware library entry. */
interface Options extends Omit<SignedFileOptions, 'file'> {
  station?: string[];
  label?: string[];
  file?: string;
  allowDowngrade?: boolean;
  maxOffers?: string;
  force?: boolean;
}

export function register(parent: Command): void {
  signatureOptions(
    parent
      .command('upgrade')
      .description(
        'upload a signed update once and target stations at a package version. Every signature is verified over the ' +
          'bytes as they are stored, and nothing is stored or targeted unless all verify, so a bad or changing file never reaches a station',
      )
      .option('--station <eui...>', 'target station(s), repeatable')
      .option('--label <key=value>', 'target every station with this label, repeatable', collect)
      .requiredOption('--package <version>', 'package version the update writes into "$STATION_HOME/version.txt", e.g. 1.0.1')
      .option('--file <file>', 'the update file: the station saves it as /tmp/update.bin and runs it with sh from its own working folder (not its home), STATION_HOME set to its home, so it must write "$STATION_HOME/version.txt" (e.g. printf \'#!/bin/sh\\necho 1.0.1 > "$STATION_HOME/version.txt"\\nrm -f "$0"\\n\' > update.sh) and should remove itself (rm -f "$0"): a leftover update.bin runs again at every start; without it, --package names a firmware library entry'),
  )
    .option('--allow-downgrade', 'allow a lower semantic version than the station reports')
    .option('--force', 'with --file: target stations an active firmware rollout holds (the rollout records it as changed outside it)')
    .option('--max-offers <n>', 'offers without the package changing before the upgrade is marked failed (default BSCUPS_MAX_OFFERS or 3)')
    .action(async (opts: Options, cmd: Command) => {
      const stations = (opts.station ?? []).map(euiArg);
      const labels = parseLabels(opts.label, false) as Record<string, string>;
      const path = opts.file;
      if (path === undefined && (opts.signature ?? opts.signWith ?? opts.publicKey) !== undefined) {
        throw invalid('file_required', '--signature, --sign-with and --public-key go with --file; a library package is already signed');
      }
      const file = path === undefined ? undefined : await signedFile({ ...opts, file: path });
      await runActions(cmd, async (actions, out, settings) => {
        const target: FirmwareTargetArgs = {
          stations,
          labels,
          maxOffers: opts.maxOffers === undefined ? settings.maxOffers : Number(opts.maxOffers),
          allowDowngrade: opts.allowDowngrade === true,
          ...(opts.force === true ? { force: true } : {}),
        };
        if (file === undefined) {
          // Without --file, --package names a firmware library entry.
          const result = await actions.targetPackage(opts.package, target);
          out.result(result, () => out.line(`${result.stations.length} station(s) will be offered library package ${result.package} on their next request: ${result.stations.join(', ')}`));
          return;
        }
        const result = await withProgress(out, file.size, (onProgress) => actions.upgradeFirmware({ ...file, ...(onProgress === undefined ? {} : { onProgress }) }, target));
        out.result(result, () => {
          out.line(`${result.uploaded ? 'uploaded' : 'reused stored'} ${result.blob} (${result.size} bytes)`);
          out.line(`${result.stations.length} station(s) will be offered package ${result.package} on their next request: ${result.stations.join(', ')}`);
        });
      });
    });
}
