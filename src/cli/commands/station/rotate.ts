import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import type { CredentialCategory, StationAuth } from '../../../registry/auth-types.js';
import { runWithRuntime } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { loadCa, loadCaCertificate, pkiDirOption } from '../pki/pki-dir.js';
import { euiArg } from './parse.js';
import { currentTrust, issueCertificate, issueToken, loadStation } from './provision.js';

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
      await runWithRuntime(cmd, async (rt, out) => {
        const target = await loadStation(rt, id);
        const kind = kindInUse(target.auth, category);
        const trust =
          category === 'cups'
            ? await loadCaCertificate(dir)
            : opts.tcTrust !== undefined
              ? await readFileArg(opts.tcTrust, '--tc-trust')
              : ((await currentTrust(rt, target.station, 'tc')) ?? (await loadCaCertificate(dir)));
        const issued = kind === 'certificate' ? await issueCertificate(rt, target, category, await loadCa(dir), trust) : await issueToken(rt, target, category, trust);
        const { files: _files, token: _secret, ...view } = issued;
        out.result({ eui: id, ...view, pending: true }, () => {
          const what = kind === 'certificate' ? `certificate ${issued.fingerprint}` : `token ${issued.tokenId}`;
          out.line(`station ${id}: new ${category} ${what} (crc ${issued.crc}) is sent on its next request;`);
          out.line(`the old ${kind} stays valid until the station reports crc ${issued.crc}, then it is retired ("bscups station auth ${id}" shows progress)`);
        });
      });
    });
}

function categoryOf(value: string | undefined): CredentialCategory {
  if (value === undefined || value === 'cups') return 'cups';
  if (value === 'tc') return 'tc';
  throw invalid('invalid_category', `--for must be cups or tc, got "${value}"`, { field: '--for' });
}

/** What the station uses now: for CUPS its auth mode (or the one it is moving to), for TC its newest active credential. */
function kindInUse(auth: StationAuth, category: CredentialCategory): 'certificate' | 'token' {
  if (category === 'cups') {
    const mode = auth.rotations.find((r) => r.category === 'cups')?.targetMode ?? auth.mode;
    if (mode === 'mtls') return 'certificate';
    if (mode === 'token') return 'token';
    throw invalid(
      'nothing_to_rotate',
      `station ${auth.eui} has auth mode none, so there is nothing to rotate; give it a first credential with "bscups station issue-cert ${auth.eui}" or "issue-token"`,
    );
  }
  const newest = [
    ...auth.certificates.filter((c) => c.category === 'tc' && c.status === 'active').map((c) => ({ kind: 'certificate' as const, at: c.createdAt.getTime() })),
    ...auth.tokens.filter((t) => t.category === 'tc' && t.status === 'active').map((t) => ({ kind: 'token' as const, at: t.createdAt.getTime() })),
  ].sort((a, b) => b.at - a.at)[0];
  if (newest === undefined) {
    throw invalid('nothing_to_rotate', `station ${auth.eui} has no active tc credential issued here; issue one with "bscups station issue-cert ${auth.eui} --for tc"`);
  }
  return newest.kind;
}
