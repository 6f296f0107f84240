import type { Command } from 'commander';
import { conflict, invalid, notFound } from '../../../core/errors.js';
import type { CredentialCategory } from '../../../registry/auth-types.js';
import { runWithRuntime } from '../../context.js';
import { euiArg } from './parse.js';
import { loadStation } from './provision.js';

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
        'currently reports holding (it would lock the gateway out); rotate first, or pass --force',
    )
    .argument('<eui>', 'station EUI')
    .option('--fingerprint <sha256>', 'the certificate, by SHA-256 fingerprint (hex, colons allowed); see "bscups station auth EUI"')
    .option('--token-id <id>', 'the token, by id; see "bscups station auth EUI"')
    .option('--force', 'revoke even what the station currently uses')
    .action(async (eui: string, opts: Options, cmd: Command) => {
      const id = euiArg(eui);
      if ((opts.fingerprint === undefined) === (opts.tokenId === undefined)) {
        throw invalid('missing_credential', 'say what to revoke: --fingerprint F or --token-id T (one of them)');
      }
      const fingerprint = opts.fingerprint === undefined ? undefined : normaliseFingerprint(opts.fingerprint);
      await runWithRuntime(cmd, async (rt, out) => {
        const { station, auth } = await loadStation(rt, id);
        const found =
          fingerprint !== undefined
            ? auth.certificates.find((c) => c.fingerprint === fingerprint)
            : auth.tokens.find((t) => t.id === opts.tokenId);
        const label = fingerprint !== undefined ? `certificate ${fingerprint}` : `token ${String(opts.tokenId)}`;
        if (found === undefined) throw notFound(fingerprint !== undefined ? 'certificate_not_found' : 'token_not_found', `station ${id} has no ${label}; see "bscups station auth ${id}"`);
        const category: CredentialCategory = found.category;
        const reported = category === 'cups' ? station.reported?.cupsCredCrc : station.reported?.tcCredCrc;
        const inUse = reported === found.credCrc;
        if (inUse && opts.force !== true) {
          throw conflict(
            'credential_in_use',
            `station ${id} reports ${category} credential crc ${found.credCrc}, the one ${label} was delivered in: revoking it would lock the gateway out. ` +
              `Run "bscups station rotate ${id}${category === 'tc' ? ' --for tc' : ''}" and wait until the station reports the new credential, or pass --force`,
          );
        }
        const at = new Date();
        const retired =
          fingerprint !== undefined ? await rt.registry.retireCertificate(id, fingerprint, 'revoked', at) : await rt.registry.retireToken(id, opts.tokenId as string, 'revoked', at);

        // A revoked credential must not be delivered afterwards: drop it from the desired state (and its key from the store).
        const field = category === 'cups' ? 'cupsCred' : 'tcCred';
        const desired = station.desired[field];
        const undelivered = desired !== null && desired.crc === found.credCrc;
        if (undelivered) {
          await rt.registry.updateStation(id, { desired: { [field]: null } });
          await rt.blobs.delete('stationcredentials', desired.blob);
        }
        if (auth.rotations.some((r) => r.category === category && r.newCrc === found.credCrc)) await rt.registry.cancelRotation(id, category);
        if (retired) {
          await rt.registry.appendEvents(
            id,
            [{ type: 'auth', message: `${label} revoked${inUse ? ' while in use (--force)' : ''}`, detail: { category, credCrc: found.credCrc, forced: inUse } }],
            at,
          );
        }
        out.result({ eui: id, revoked: label, category, retired, wasInUse: inUse, desiredCleared: undelivered }, () => {
          out.line(retired ? `station ${id}: ${label} revoked; requests using it are refused from now on` : `station ${id}: ${label} was already retired`);
          if (undelivered) out.line(`it was the desired ${category} credential, which is now unset: issue a new one`);
        });
      });
    });
}

function normaliseFingerprint(value: string): string {
  const hex = value.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw invalid('invalid_fingerprint', `--fingerprint must be the certificate's SHA-256 as 64 hex digits (colons allowed), got "${value}"`, { field: '--fingerprint' });
  }
  return hex;
}
