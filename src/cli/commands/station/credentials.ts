import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import type { CredentialCategory } from '../../../registry/auth-types.js';
import { readFileArg } from '../../read-file-arg.js';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';
import { fileArgText } from './provision.js';
import { formatCrc } from '../../../core/crc-format.js';

interface Options {
  cups?: boolean;
  tc?: boolean;
  trust: string;
  cert?: string;
  key?: string;
  token?: string;
  tokenFile?: string;
  force?: boolean;
  pkiDir?: string;
}

export function register(parent: Command): void {
  parent
    .command('credentials')
    .description(
      'set the CUPS or TC credential a station should hold. Files may be PEM or DER; the blob is normalised so the ' +
        "station can parse it (PKCS#8 EC keys become SEC1) and its CRC is stored, so it is sent once and not again",
    )
    .argument('<eui>', 'station EUI')
    .option('--cups', 'the credential for talking to this CUPS server (cups.trust/crt/key)')
    .option('--tc', 'the credential for the LNS (tc.trust/crt/key)')
    .requiredOption('--trust <file>', 'CA certificate that verifies the server')
    .option('--cert <file>', 'client certificate (mutual TLS), with --key')
    .option('--key <file>', 'client private key (EC or RSA), with --cert')
    .option('--token <lines>', "token header lines, e.g. 'Authorization: Bearer s3cr3t'")
    .option('--token-file <file>', 'read the token header lines from a file')
    .option(
      '--force',
      "CUPS: set it even when this server would refuse it. Without it, a client certificate not issued by the server's station CA " +
        '(self-signed, another CA), expired, or naming another station, and a trust that does not verify the server certificate ' +
        '(the PKI folder\'s server.pem) are refused: the station would fail with them and fall back to its backup credentials',
    )
    .option('--pki-dir <dir>', 'PKI folder made by "bscups pki init" (env BSCUPS_PKI_DIR, default ./data/pki) the CUPS credential is checked against; local mode only, a server uses its own')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      const category = pickCategory(opts);
      if (opts.token !== undefined && opts.tokenFile !== undefined) throw invalid('incomplete_credential', 'give --token or --token-file, not both');
      const token = opts.tokenFile !== undefined ? (await readFileArg(opts.tokenFile, '--token-file')).toString() : opts.token;
      const input = {
        category,
        trust: await fileArgText(opts.trust, '--trust'),
        ...(opts.cert === undefined ? {} : { cert: await fileArgText(opts.cert, '--cert') }),
        ...(opts.key === undefined ? {} : { key: await fileArgText(opts.key, '--key') }),
        ...(token === undefined ? {} : { token }),
        ...(opts.force === true ? { force: true } : {}),
      };
      await runActions(cmd, async (actions, out) => {
        const set = await actions.setCredential(id, input, opts.pkiDir === undefined ? {} : { pkiDir: opts.pkiDir });
        out.result({ eui: id, category, mode: set.mode, crc: set.crc, size: set.size, blob: set.blob }, () =>
          out.line(`station ${id}: ${category} credential set (${set.mode}, ${set.size} bytes, crc ${formatCrc(set.crc)}); sent on its next request`),
        );
      });
    });
}

function pickCategory(opts: Options): CredentialCategory {
  if (opts.cups === true && opts.tc === true) throw invalid('ambiguous_category', 'give --cups or --tc, not both');
  if (opts.cups === true) return 'cups';
  if (opts.tc === true) return 'tc';
  throw invalid('missing_category', 'say which credential this is: --cups or --tc');
}
