import type { Command } from 'commander';
import { runWithRuntime } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { loadCa, pkiDirOption } from '../pki/pki-dir.js';
import { euiArg } from './parse.js';
import { issueCredentials } from '../../../operations/credentials.js';
import { categoriesOf, writeStationFiles } from './provision.js';

interface Options {
  for?: string;
  pkiDir?: string;
  out?: string;
  tcTrust?: string;
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
    .option('--pki-dir <dir>', 'PKI folder made by "bscups pki init" (env BSCUPS_PKI_DIR, default ./data/pki)')
    .option('--out <dir>', 'also write the station files ({cups,tc}.trust, .crt, .key: DER and SEC1) here, for first provisioning')
    .option('--tc-trust <file>', 'CA certificate (PEM or DER) that verifies the LNS, for tc.trust; default the station CA')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      const categories = categoriesOf(opts.for);
      const dir = pkiDirOption(opts.pkiDir);
      const ca = await loadCa(dir);
      const tcTrust = opts.tcTrust === undefined ? ca.certDer : await readFileArg(opts.tcTrust, '--tc-trust');
      await runWithRuntime(cmd, async ({ registry, blobs }, out) => {
        const result = await issueCredentials(
          { registry, blobs, clock: () => new Date() },
          { eui: id, kind: 'certificate', ca, credentials: categories.map((category) => ({ category, trust: category === 'cups' ? ca.certDer : tcTrust })) },
        );
        const issued = result.credentials;
        const files = opts.out === undefined ? [] : await writeStationFiles(opts.out, issued);
        out.result(
          {
            eui: id,
            mode: result.mode,
            pendingMode: result.pendingMode,
            credentials: issued.map(({ files: _files, ...c }) => c),
            files,
          },
          () => {
            for (const c of issued) {
              out.line(`station ${id}: ${c.category} certificate ${c.fingerprint} (valid until ${c.notAfter?.toISOString()}), credential crc ${c.crc}, sent on its next request`);
            }
            if (files.length > 0) out.line(`wrote ${files.join(', ')}`);
            out.line(`auth mode: ${result.mode}${result.pendingMode !== null ? ` (becomes ${result.pendingMode} once the station uses the new certificate; accepted beside ${result.mode} until then)` : ''}`);
          },
        );
      });
    });
}
