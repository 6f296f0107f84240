import { conflict, invalid, notFound } from '../core/errors.js';
import type { CredentialCategory, CredentialChange, StationAuth, StationCertificate, StationToken } from '../registry/auth-types.js';
import type { NewAuditEntry } from '../registry/index.js';
import type { Station } from '../registry/types.js';
import { desiredField } from './credential-blob.js';
import { type CredentialDeps } from './credential-delivery.js';

export interface RevokeInput {
  readonly eui: string;
  /** SHA-256 of the certificate (hex, colons allowed), or… */
  readonly fingerprint?: string;
  /** …the token id. */
  readonly tokenId?: string;
  /** Revoke even the station's only usable credential, or the one it reports holding. */
  readonly force?: boolean;
}

export interface RevokeResult {
  readonly eui: string;
  /** `certificate <fingerprint>` or `token <id>`. */
  readonly revoked: string;
  readonly category: CredentialCategory;
  /** False when it was already retired. */
  readonly retired: boolean;
  readonly wasInUse: boolean;
  /** It was the desired credential, which is now unset (and its blob deleted). */
  readonly desiredCleared: boolean;
}

type Held = (StationCertificate & { kind: 'certificate' }) | (StationToken & { kind: 'token' });

/**
 * Retires a certificate or token at once. Decided and written in one
 * transaction on the station's current state: refused without `force` when the
 * station reports holding it, or when it is the station's only credential the
 * server would accept (reported yet or not: one just written for first
 * provisioning is on its way to the gateway). A revoked credential that was
 * still the desired one is unset, so it is never delivered afterwards.
 */
export async function revokeCredential(deps: CredentialDeps, input: RevokeInput, audit?: (result: RevokeResult) => NewAuditEntry | null): Promise<RevokeResult> {
  const { eui } = input;
  if ((input.fingerprint === undefined) === (input.tokenId === undefined)) {
    throw invalid('missing_credential', 'say what to revoke: --fingerprint F or --token-id T (one of them)');
  }
  const fingerprint = input.fingerprint === undefined ? undefined : normaliseFingerprint(input.fingerprint);
  const label = fingerprint !== undefined ? `certificate ${fingerprint}` : `token ${String(input.tokenId)}`;
  const at = deps.clock();
  const resultOf = (o: { found: Held; inUse: boolean; retired: boolean; cleared: unknown }): RevokeResult =>
    ({ eui, revoked: label, category: o.found.category, retired: o.retired, wasInUse: o.inUse, desiredCleared: o.cleared !== null });
  const outcome = await deps.registry.changeCredentials(
    eui,
    ({ station, auth }) => {
      const found = findHeld(auth, fingerprint, input.tokenId);
      if (found === undefined) {
        throw notFound(fingerprint !== undefined ? 'certificate_not_found' : 'token_not_found', `station ${eui} has no ${label}; see "bscups station auth ${eui}"`);
      }
      const { category } = found;
      const inUse = (category === 'cups' ? station.reported?.cupsCredCrc : station.reported?.tcCredCrc) === found.credCrc;
      if (found.status === 'retired') {
        return { change: {}, result: { found, inUse, retired: false, cleared: null } };
      }
      if (input.force !== true) refuseLockOut(station, auth, found, inUse, label);
      const field = desiredField(category);
      const desired = station.desired[field];
      const cleared = desired !== null && desired.crc === found.credCrc ? desired : null;
      const change: CredentialChange = {
        ...(found.kind === 'certificate' ? { retireCertificates: [{ fingerprint: found.fingerprint, reason: 'revoked' }] } : {}),
        ...(found.kind === 'token' ? { retireTokens: [{ id: found.id, reason: 'revoked' }] } : {}),
        ...(cleared !== null ? { desired: { [field]: null } } : {}),
        ...(auth.rotations.some((r) => r.category === category && r.newCrc === found.credCrc) ? { cancelRotations: [category] } : {}),
        events: [
          {
            type: 'auth',
            message: `${label} revoked${inUse ? ' while in use (--force)' : ''}${cleared !== null ? `; desired ${field} unset` : ''}`,
            detail: { category, credCrc: found.credCrc, forced: input.force === true },
          },
        ],
      };
      return { change, result: { found, inUse, retired: true, cleared } };
    },
    at,
    deps.faults,
    audit === undefined ? undefined : (o) => audit(resultOf(o)),
  );
  await deps.faults?.('committed');
  if (outcome.cleared !== null) await deps.blobs.delete('stationcredentials', outcome.cleared.blob);
  return resultOf(outcome);
}

function findHeld(auth: StationAuth, fingerprint: string | undefined, tokenId: string | undefined): Held | undefined {
  if (fingerprint !== undefined) {
    const c = auth.certificates.find((x) => x.fingerprint === fingerprint);
    return c === undefined ? undefined : { ...c, kind: 'certificate' };
  }
  const t = auth.tokens.find((x) => x.id === tokenId);
  return t === undefined ? undefined : { ...t, kind: 'token' };
}

/** The kinds of credential the server accepts for a category now: for CUPS those of the mode and of a pending rotation's mode. */
function acceptedKinds(auth: StationAuth, category: CredentialCategory): Set<Held['kind']> {
  if (category === 'tc') return new Set(['certificate', 'token']);
  const modes = [auth.mode, auth.rotations.find((r) => r.category === 'cups')?.targetMode ?? null];
  const kinds = new Set<Held['kind']>();
  if (modes.includes('mtls')) kinds.add('certificate');
  if (modes.includes('token')) kinds.add('token');
  return kinds;
}

function refuseLockOut(station: Station, auth: StationAuth, found: Held, inUse: boolean, label: string): void {
  const { category } = found;
  const rotate = `"bscups station rotate ${station.eui}${category === 'tc' ? ' --for tc' : ''}"`;
  if (inUse) {
    throw conflict(
      'credential_in_use',
      `station ${station.eui} reports ${category} credential crc ${found.credCrc}, the one ${label} was delivered in: revoking it would lock the gateway out. ` +
        `Run ${rotate} and wait until the station reports the new credential, or pass --force`,
    );
  }
  const kinds = acceptedKinds(auth, category);
  if (!kinds.has(found.kind)) return;
  // What a rotation is still delivering over CUPS the station can only fetch with another credential: it does not count.
  const delivering = auth.rotations.find((r) => r.category === category)?.newCrc;
  const reported = category === 'cups' ? station.reported?.cupsCredCrc : station.reported?.tcCredCrc;
  const others: Held[] = [
    ...auth.certificates.map((c) => ({ ...c, kind: 'certificate' as const })),
    ...auth.tokens.map((t) => ({ ...t, kind: 'token' as const })),
  ].filter(
    (c) =>
      c.category === category &&
      c.status === 'active' &&
      kinds.has(c.kind) &&
      c.credCrc !== found.credCrc &&
      (c.credCrc !== delivering || c.credCrc === reported),
  );
  if (others.length === 0) {
    throw conflict(
      'only_usable_credential',
      `${label} is the only ${category} credential station ${station.eui} can authenticate with (it may be on the gateway even though the station has not reported it yet, ` +
        `and a credential still being delivered over CUPS can only be fetched with it): revoking it would lock the gateway out. ` +
        `Wait until the station reports a newer credential (${rotate} delivers one), or pass --force`,
    );
  }
}

function normaliseFingerprint(value: string): string {
  const hex = value.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw invalid('invalid_fingerprint', `--fingerprint must be the certificate's SHA-256 as 64 hex digits (colons allowed), got "${value}"`, { field: '--fingerprint' });
  }
  return hex;
}
