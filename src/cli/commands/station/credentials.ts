import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { buildCredentialBlob, normaliseStationKey } from '../../../protocol/index.js';
import { runWithRuntime } from '../../context.js';
import { readFileArg } from '../../read-file-arg.js';
import { storeCredential, type CredentialCategory } from './credential-blob.js';
import { euiArg } from './parse.js';
import { trackCupsCredential } from './provision.js';

interface Options {
  cups?: boolean;
  tc?: boolean;
  trust: string;
  cert?: string;
  key?: string;
  token?: string;
  tokenFile?: string;
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
    .addHelpText('after', '\nExamples:\n  bscups station credentials 0016C001FF10A235 --tc --trust ca.pem --token "Authorization: Bearer s3cr3t"\n  bscups station credentials 0016C001FF10A235 --cups --trust ca.pem --cert station.crt --key station.key')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      const category = pickCategory(opts);
      if ((opts.cert === undefined) !== (opts.key === undefined)) throw invalid('incomplete_credential', '--cert and --key go together (mutual TLS)');
      if (opts.token !== undefined && opts.tokenFile !== undefined) throw invalid('incomplete_credential', 'give --token or --token-file, not both');
      const token = opts.tokenFile !== undefined ? await readFileArg(opts.tokenFile, '--token-file') : opts.token;
      if (token !== undefined && opts.cert !== undefined) throw invalid('incomplete_credential', 'a credential has either --cert/--key or a token, not both');

      const blob = buildCredentialBlob({
        trust: await readFileArg(opts.trust, '--trust'),
        cert: opts.cert === undefined ? null : await readFileArg(opts.cert, '--cert'),
        key: opts.key === undefined ? null : normaliseStationKey(await readFileArg(opts.key, '--key')),
        token: token === undefined ? null : token.toString(),
      });

      await runWithRuntime(cmd, async ({ registry, blobs }, out) => {
        const before = await registry.getStation(id);
        const ref = await storeCredential(blobs, id, category, blob);
        const field = category === 'cups' ? 'cupsCred' : 'tcCred';
        await registry.updateStation(id, { desired: { [field]: ref } });
        const previous = before?.desired[field];
        if (previous != null && previous.blob !== ref.blob) await blobs.delete('stationcredentials', previous.blob);
        const mode = token !== undefined ? 'token' : opts.cert !== undefined ? 'mutual TLS' : 'server TLS';
        const at = new Date();
        const tracked = category === 'cups' ? await trackCupsCredential(registry, id, blob, ref.crc, at) : null;
        const accepted = tracked === null ? '' : `; ${tracked} accepted, older CUPS credentials retire once the station reports it`;
        await registry.appendEvents(id, [{ type: 'config', message: `desired ${field} set (${mode}, crc ${ref.crc})${accepted}` }], at);
        out.result({ eui: id, category, mode, crc: ref.crc, size: ref.size, blob: ref.blob }, () =>
          out.line(`station ${id}: ${category} credential set (${mode}, ${ref.size} bytes, crc ${ref.crc}); sent on its next request`),
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
