import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { rotateCredential } from '../../../operations/credentials.js';
import type { CredentialCategory } from '../../../registry/auth-types.js';
import { runWithRuntime } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { loadCa, loadCaCertificate, pkiDirOption } from '../pki/pki-dir.js';
import { euiArg } from './parse.js';

interface Options {
  for?: string;
  pkiDir?: string;
  tcTrust?: string;
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
    .option('--pki-dir <dir>', 'PKI folder made by "bscups pki init" (env BSCUPS_PKI_DIR, default ./data/pki)')
    .option('--tc-trust <file>', 'with --for tc: a new CA certificate that verifies the LNS; default the one the station has')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      const category = categoryOf(opts.for);
      const dir = pkiDirOption(opts.pkiDir);
      const caCert = await loadCaCertificate(dir);
      // The CA key is needed only to issue a certificate; a token-only setup may keep it offline.
      const ca = await loadCa(dir).catch(() => undefined);
      const trust = opts.tcTrust === undefined ? undefined : await readFileArg(opts.tcTrust, '--tc-trust');
      await runWithRuntime(cmd, async ({ registry, blobs }, out) => {
        const issued = await rotateCredential(
          { registry, blobs, clock: () => new Date() },
          { eui: id, category, caCert, ...(ca === undefined ? {} : { ca }), ...(trust === undefined ? {} : { trust }) },
        );
        const { files: _files, token: _secret, ...view } = issued;
        out.result({ eui: id, ...view, pending: true }, () => {
          const what = issued.kind === 'certificate' ? `certificate ${issued.fingerprint}` : `token ${issued.tokenId}`;
          out.line(`station ${id}: new ${category} ${what} (crc ${issued.crc}) is sent on its next request;`);
          out.line(`the old ${issued.kind} stays valid until the station reports crc ${issued.crc}, then it is retired ("bscups station auth ${id}" shows progress)`);
        });
      });
    });
}

function categoryOf(value: string | undefined): CredentialCategory {
  if (value === undefined || value === 'cups') return 'cups';
  if (value === 'tc') return 'tc';
  throw invalid('invalid_category', `--for must be cups or tc, got "${value}"`, { field: '--for' });
}
