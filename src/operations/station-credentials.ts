import { invalid } from '../core/errors.js';
import { loadCa, loadCaCertificate } from '../pki/pki-folder.js';
import { parseEui } from '../protocol/index.js';
import { STATION_AUTH_MODES, type CredentialCategory, type StationAuth, type StationAuthMode } from '../registry/auth-types.js';
import { setStationAuthMode } from './auth-mode.js';
import { audit, authorize, type OperationContext } from './context.js';
import { revokeCredential, type RevokeResult } from './credential-revoke.js';
import { issueCredentials, setCredential, type CredentialInput, type IssueResult, type SetCredentialResult } from './credentials.js';
import { showStationAuth } from './station-firmware.js';

// The credential use cases with their role check and audit entry: the CLI (both
// modes) and the API call these. Audit details name certificates by fingerprint
// and tokens by id, never a key or a token.

const deps = (ctx: OperationContext) => ({ registry: ctx.registry, blobs: ctx.blobs, clock: ctx.clock });

/** Sets the credential a station should hold, as given by the operator (trust, and cert+key or a token). */
export async function setStationCredential(ctx: OperationContext, input: CredentialInput): Promise<SetCredentialResult> {
  authorize(ctx, 'operator', 'setting a station credential');
  const eui = parseEui(input.eui, 'eui');
  const set = await setCredential(deps(ctx), { ...input, eui });
  await audit(ctx, 'credential.set', eui, { category: set.category, mode: set.mode, crc: set.crc, accepted: set.accepted });
  return set;
}

export interface IssueRequest {
  readonly eui: string;
  readonly kind: 'certificate' | 'token';
  readonly categories: readonly CredentialCategory[];
  /** The CA certificate (PEM or DER) that verifies the LNS, for tc.trust; default the station CA. */
  readonly tcTrust?: Buffer;
  /** The PKI folder `bscups pki init` made, on the host running the operation. */
  readonly pkiDir: string;
  /** Lifetime of issued certificates in days (certificates only). */
  readonly validDays?: number;
}

/**
 * Issues a certificate (from the station CA) or a token per category and makes
 * them the desired credentials. The result carries the token and the station
 * files for the caller to hand over once; the audit entry does not.
 */
export async function issueStationCredentials(ctx: OperationContext, input: IssueRequest): Promise<IssueResult> {
  authorize(ctx, 'operator', `issuing a station ${input.kind}`);
  const eui = parseEui(input.eui, 'eui');
  if (input.categories.length === 0) throw invalid('invalid_category', 'say which credential to issue: cups, tc or both');
  // A token needs only the CA certificate (its trust); its key may be kept offline.
  const ca = input.kind === 'certificate' ? await loadCa(input.pkiDir) : undefined;
  const caCert = ca?.certDer ?? (await loadCaCertificate(input.pkiDir));
  const tcTrust = input.tcTrust ?? caCert;
  const result = await issueCredentials(deps(ctx), {
    eui,
    kind: input.kind,
    credentials: input.categories.map((category) => ({ category, trust: category === 'cups' ? caCert : tcTrust })),
    ...(ca === undefined ? {} : { ca }),
    ...(input.validDays === undefined ? {} : { validDays: input.validDays }),
  });
  await audit(ctx, input.kind === 'certificate' ? 'credential.issue_cert' : 'credential.issue_token', eui, {
    credentials: result.credentials.map((c) => ({ category: c.category, crc: c.crc, ...(c.fingerprint === undefined ? {} : { fingerprint: c.fingerprint }), ...(c.tokenId === undefined ? {} : { tokenId: c.tokenId }) })),
  });
  return result;
}

export interface RevokeRequest {
  readonly eui: string;
  readonly fingerprint?: string;
  readonly tokenId?: string;
  readonly force?: boolean;
}

/** Retires a certificate or token at once; refused without `force` when that would lock the station out. */
export async function revokeStationCredential(ctx: OperationContext, input: RevokeRequest): Promise<RevokeResult> {
  authorize(ctx, 'operator', 'revoking a station credential');
  const eui = parseEui(input.eui, 'eui');
  const r = await revokeCredential(deps(ctx), { ...input, eui });
  await audit(ctx, 'credential.revoke', eui, { revoked: r.revoked, category: r.category, retired: r.retired, force: input.force === true, desiredCleared: r.desiredCleared });
  return r;
}

/** Sets how a station authenticates, then answers its auth record. */
export async function changeStationAuthMode(ctx: OperationContext, eui: string, mode: string): Promise<StationAuth> {
  authorize(ctx, 'operator', 'setting a station auth mode');
  const id = parseEui(eui, 'eui');
  if (!(STATION_AUTH_MODES as readonly string[]).includes(mode)) {
    throw invalid('invalid_auth_mode', `--mode must be one of ${STATION_AUTH_MODES.join(', ')}, got "${mode}"`, { field: '--mode' });
  }
  const set = await setStationAuthMode(deps(ctx), id, mode as StationAuthMode);
  await audit(ctx, 'station.auth_mode', id, { mode: set.mode, was: set.was });
  return showStationAuth(ctx, id);
}
