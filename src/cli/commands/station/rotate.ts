import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import type { CredentialCategory } from '../../../registry/auth-types.js';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';
import { fileArgText } from './provision.js';
import { formatCrc } from '../../../core/crc-format.js';

interface Options {
  for?: string;
  pkiDir?: string;
  tcTrust?: string;
  force?: boolean;
}

export function register(parent: Command): void {
  parent
    .command('rotate')
    .description(
      'replace the station\'s certificate or token (whichever it uses) with a new one delivered over CUPS. The old one stays valid ' +
        'until the station reports the new credential CRC, authenticating with the new one; then it is retired and an event recorded',
    )
    .argument('<eui>', 'station EUI')
    .option('--for <which>', 'cups (this server) or tc (the LNS)', 'cups')
    .option('--pki-dir <dir>', 'PKI folder made by "bscups pki init" (env BSCUPS_PKI_DIR, default ./data/pki); local mode only, a server uses its own')
    .option('--tc-trust <file>', 'with --for tc: a new CA certificate that verifies the LNS; default the one the station has')
    .option('--force', 'rotate although an active rotation rollout of this category holds the station (the rollout records it as changed outside it)')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      const category = categoryOf(opts.for);
      const tcTrust = opts.tcTrust === undefined ? undefined : await fileArgText(opts.tcTrust, '--tc-trust');
      await runActions(cmd, async (actions, out) => {
        const rotated = await actions.rotateCredential(id, { for: category, ...(tcTrust === undefined ? {} : { tcTrust }), ...(opts.force === true ? { force: true } : {}) }, opts.pkiDir === undefined ? {} : { pkiDir: opts.pkiDir });
        // Notes, not errors: the operator may be about to serve TLS.
        for (const w of rotated.warnings ?? []) out.note(`note: ${w}`);
        out.result({ ...rotated, pending: true }, () => {
          const what = rotated.kind === 'certificate' ? `certificate ${rotated.fingerprint}` : `token ${rotated.tokenId}`;
          out.line(`station ${id}: new ${category} ${what} (crc ${formatCrc(rotated.crc)}) is sent on its next request;`);
          out.line(`the old ${rotated.kind} stays valid until the station reports crc ${formatCrc(rotated.crc)}, then it is retired ("bscups station auth ${id}" shows progress)`);
        });
      });
    });
}

function categoryOf(value: string | undefined): CredentialCategory {
  if (value === undefined || value === 'cups') return 'cups';
  if (value === 'tc') return 'tc';
  throw invalid('invalid_category', `--for must be cups or tc, got "${value}"`, { field: '--for' });
}
