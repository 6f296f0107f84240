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
  validDays?: number;
}

export function register(parent: Command): void {
  parent
    .command('issue-cert')
    .description(
      'issue a client certificate for the station from the station CA and make it the desired credential, so a station already ' +
        'talking to this server fetches it; the station then authenticates by mutual TLS with it. Older credentials of the same ' +
        'kind stay valid until the station reports the new one',
    )
    .argument('<eui>', 'station EUI')
    .option('--for <which>', 'cups (this server), tc (the LNS) or both', 'cups')
    .option('--pki-dir <dir>', 'PKI folder made by "bscups pki init" (env BSCUPS_PKI_DIR, default ./data/pki); local mode only, a server uses its own')
    .option('--out <dir>', 'also write the station files ({cups,tc}.trust, .crt, .key: DER and SEC1) here, for first provisioning')
    .option('--valid-days <n>', 'lifetime of the certificate in days, 1 to 36500 (default 3650); "bscups status" and "station list --cert-expiring 30d" show what expires', (v) => Number(v))
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
          'certificate',
          { for: which, ...(tcTrust === undefined ? {} : { tcTrust }), files: opts.out !== undefined, ...(opts.validDays === undefined ? {} : { validDays: opts.validDays }) },
          opts.pkiDir === undefined ? {} : { pkiDir: opts.pkiDir },
        );
        const files = opts.out === undefined ? [] : await writeStationFiles(opts.out, result.stationFiles ?? [], opts.force === true);
        const warnings = result.warnings ?? [];
        // Notes, not errors: the operator may be about to serve TLS.
        for (const w of warnings) out.note(`note: ${w}`);
        out.result({ eui: id, mode: result.mode, pendingMode: result.pendingMode, credentials: result.credentials, files, warnings }, () => {
          for (const c of result.credentials) {
            out.line(`station ${id}: ${c.category} certificate ${c.fingerprint} (valid until ${c.notAfter}), credential crc ${formatCrc(c.crc)}, sent on its next request`);
          }
          if (files.length > 0) out.line(`wrote ${files.join(', ')}`);
          out.line(`auth mode: ${result.mode}${result.pendingMode !== null ? ` (becomes ${result.pendingMode} once the station uses the new certificate; accepted beside ${result.mode} until then)` : ''}`);
        });
      });
    });
}
