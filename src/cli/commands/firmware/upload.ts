import type { Command } from 'commander';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { withProgress } from './progress.js';
import { signatureOptions, signedFile, type SignedFileOptions } from './signatures.js';
import { formatCrc } from '../../../core/crc-format.js';

interface Options extends SignedFileOptions {
  model?: string[];
}

export function register(parent: Command): void {
  signatureOptions(
    parent
      .command('upload')
      .description('add a signed update to the firmware library once, verified over the bytes as they are stored; stations and rollouts then target it by --package')
      .requiredOption('--package <version>', 'package version the update writes into "$STATION_HOME/version.txt", e.g. 1.4.0')
      .requiredOption('--file <file>', 'the update file: the station saves it as /tmp/update.bin and runs it with sh from its own working folder (not its home), STATION_HOME set to its home, so it must write "$STATION_HOME/version.txt" (e.g. printf \'#!/bin/sh\\necho 1.0.1 > "$STATION_HOME/version.txt"\\nrm -f "$0"\\n\' > update.sh) and should remove itself (rm -f "$0"): a leftover update.bin runs again at every start'),
  )
    .option('--model <model>', 'station model (reported model) the update is built for; repeatable; stations reporting another are never offered it', collect)
    .action(async (opts: Options, cmd: Command) => {
      const file = await signedFile(opts);
      await runActions(cmd, async (actions, out) => {
        const entry = await withProgress(out, file.size, (onProgress) => actions.uploadPackage({ ...file, ...(onProgress === undefined ? {} : { onProgress }) }, opts.model ?? []));
        out.result(entry, () => {
          out.line(`package ${entry.package} in the library: ${entry.size} bytes, sha256 ${entry.sha256}, keys ${entry.keyCrcs.map(formatCrc).join(', ')}${entry.models.length > 0 ? `, for ${entry.models.join(', ')}` : ''}`);
        });
      });
    });
}
