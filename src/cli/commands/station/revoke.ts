import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';

interface Options {
  fingerprint?: string;
  tokenId?: string;
  force?: boolean;
}

export function register(parent: Command): void {
  parent
    .command('revoke')
    .description(
      'retire a certificate or token at once: the next request using it is refused. Refuses to revoke the credential the station ' +
        'reports holding, or its only credential the server accepts (even one not delivered yet): that would lock the gateway out; ' +
        'rotate first, or pass --force',
    )
    .argument('<eui>', 'station EUI')
    .option('--fingerprint <sha256>', 'the certificate, by SHA-256 fingerprint (hex, colons allowed); see "bscups station auth EUI"')
    .option('--token-id <id>', 'the token, by id; see "bscups station auth EUI"')
    .option('--force', 'revoke even what the station uses or its only usable credential')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      await runActions(cmd, async (actions, out) => {
        const r = await actions.revokeCredential(id, {
          ...(opts.fingerprint === undefined ? {} : { fingerprint: opts.fingerprint }),
          ...(opts.tokenId === undefined ? {} : { tokenId: opts.tokenId }),
          force: opts.force === true,
        });
        out.result(r, () => {
          out.line(r.retired ? `station ${id}: ${r.revoked} revoked; requests using it are refused from now on` : `station ${id}: ${r.revoked} was already retired`);
          if (r.desiredCleared) out.line(`it was the desired ${r.category} credential, which is now unset: issue a new one`);
        });
      });
    });
}
