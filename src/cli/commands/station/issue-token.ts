import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';
import { forOption, fileArgText, prepareStationFiles, writeStationFiles } from './provision.js';
import { formatCrc } from '../../../core/crc-format.js';

interface Options {
  for?: string;
  pkiDir?: string;
  out?: string;
  tcTrust?: string;
  force?: boolean;
}

export function register(parent: Command): void {
  parent
    .command('issue-token')
    .description(
      'issue a random token (Authorization: Bearer …) for the station and make it the desired credential; only its hash is ' +
        'stored and the token is printed once. The station sends it as a header line over TLS. Older credentials of the same ' +
        'kind stay valid until the station reports the new one',
    )
    .argument('<eui>', 'station EUI')
    .option('--for <which>', 'cups (this server), tc (the LNS) or both', 'cups')
    .option('--pki-dir <dir>', 'PKI folder whose ca.pem verifies this server (env BSCUPS_PKI_DIR, default ./data/pki); local mode only, a server uses its own')
    .option('--out <dir>', 'also write the station files ({cups,tc}.trust, .crt (empty), .key = the token) here, for first provisioning')
    .option('--tc-trust <file>', 'CA certificate (PEM or DER) that verifies the LNS, for tc.trust; default the station CA')
    .option('--force', 'with --out: replace station files already there (atomically; a symbolic link is never written through)')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      const which = forOption(opts.for);
      const tcTrust = opts.tcTrust === undefined ? undefined : await fileArgText(opts.tcTrust, '--tc-trust');
      // Checked before issuing: a refused --out leaves the station as it was.
      if (opts.out !== undefined) await prepareStationFiles(opts.out, which, opts.force === true);
      await runActions(cmd, async (actions, out) => {
        const result = await actions.issueCredentials(
          id,
          'token',
          { for: which, ...(tcTrust === undefined ? {} : { tcTrust }), files: opts.out !== undefined },
          opts.pkiDir === undefined ? {} : { pkiDir: opts.pkiDir },
        );
        const files = opts.out === undefined ? [] : await writeStationFiles(opts.out, result.stationFiles ?? [], opts.force === true);
        const warnings = result.warnings ?? [];
        // Notes, not errors: the operator may be about to serve TLS.
        for (const w of warnings) out.note(`note: ${w}`);
        out.result({ eui: id, mode: result.mode, pendingMode: result.pendingMode, credentials: result.credentials, files, warnings }, () => {
          for (const c of result.credentials) {
            out.line(`station ${id}: ${c.category} token ${c.tokenId}, credential crc ${formatCrc(c.crc)}, sent on its next request`);
            out.line(`  ${c.token ?? ''}`);
          }
          out.note('The token is shown only now; the server keeps only its hash.');
          if (files.length > 0) out.line(`wrote ${files.join(', ')}`);
          out.line(`auth mode: ${result.mode}${result.pendingMode !== null ? ` (becomes ${result.pendingMode} once the station uses the new token; accepted beside ${result.mode} until then)` : ''}`);
        });
      });
    });
}
