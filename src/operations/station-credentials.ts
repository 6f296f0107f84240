import { invalid } from '../core/errors.js';
import { loadCa, loadCaCertificate } from '../pki/pki-folder.js';
import { parseEui } from '../protocol/index.js';
import { STATION_AUTH_MODES, type CredentialCategory, type StationAuth, type StationAuthMode } from '../registry/auth-types.js';
import { setStationAuthMode } from './auth-mode.js';
import { audited, authorize, type OperationContext } from './context.js';
import { checkCupsCredential, loadServerPki } from './credential-acceptance.js';
import { revokeCredential, type RevokeResult } from './credential-revoke.js';
import { issueCredentials, setCredential, type CredentialInput, type IssueResult, type SetCredentialResult } from './credentials.js';
import { showStationAuth } from './station-firmware.js';
import { plainHttpWarnings } from './plain-http-warning.js';

// The credential use cases with their role check and audit entry: the CLI (both
// modes) and the API call these. Audit details name certificates by fingerprint
// and tokens by id, never a key or a token.

const deps = (ctx: OperationContext) => ({ registry: ctx.registry, blobs: ctx.blobs, clock: ctx.clock });

/** How a hand-set credential is checked: against the server's PKI folder, unless forced. */
export interface CredentialCheck {
  /** The PKI folder `bscups pki init` made: its ca.pem (station CA) and server.pem (this server's certificate). */
  readonly pkiDir: string;
  /** Set a CUPS credential this server would refuse, or whose trust does not verify this server, anyway. */
  readonly force?: boolean;
}

/**
 * Sets the credential a station should hold, as given by the operator (trust,
 * and cert+key or a token). A CUPS credential is refused unless `force`d when
 * the server would not accept its client certificate for this station, or its
 * trust does not verify the server's certificate (credential-acceptance.ts):
 * the station would take it, fail, and recover only through its backup set.
 */
export async function setStationCredential(ctx: OperationContext, input: CredentialInput, check: CredentialCheck): Promise<SetCredentialResult> {
  authorize(ctx, 'operator', 'setting a station credential');
  const eui = parseEui(input.eui, 'eui');
  const force = check.force === true;
  if (input.category === 'cups' && !force) {
    const given = { trust: input.trust, cert: input.cert ?? null, key: input.key ?? null, token: input.token ?? null };
    await checkCupsCredential(eui, given, () => loadServerPki(check.pkiDir), ctx.clock());
  }
  return setCredential(deps(ctx), { ...input, eui }, (set) =>
    audited(ctx, 'credential.set', eui, { category: set.category, mode: set.mode, crc: set.crc, accepted: set.accepted, ...(force ? { force } : {}) }),
  );
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
export async function issueStationCredentials(ctx: OperationContext, input: IssueRequest): Promise<IssueResult & { readonly warnings: readonly string[] }> {
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
  }, (credentials) =>
    audited(ctx, input.kind === 'certificate' ? 'credential.issue_cert' : 'credential.issue_token', eui, {
      credentials: credentials.map((c) => ({ category: c.category, crc: c.crc, ...(c.fingerprint === undefined ? {} : { fingerprint: c.fingerprint }), ...(c.tokenId === undefined ? {} : { tokenId: c.tokenId }) })),
    }),
  );
  const warnings = input.categories.includes('cups') ? await plainHttpWarnings(ctx.registry, eui, input.kind) : [];
  return { ...result, warnings };
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
  return revokeCredential(deps(ctx), { ...input, eui }, (r) =>
    audited(ctx, 'credential.revoke', eui, { revoked: r.revoked, category: r.category, retired: r.retired, force: input.force === true, desiredCleared: r.desiredCleared }),
  );
}

/** Sets how a station authenticates, then answers its auth record. */
export async function changeStationAuthMode(ctx: OperationContext, eui: string, mode: string, force = false): Promise<StationAuth> {
  authorize(ctx, 'operator', 'setting a station auth mode');
  const id = parseEui(eui, 'eui');
  if (!(STATION_AUTH_MODES as readonly string[]).includes(mode)) {
    throw invalid('invalid_auth_mode', `--mode must be one of ${STATION_AUTH_MODES.join(', ')}, got "${mode}"`, { field: '--mode' });
  }
  await setStationAuthMode(deps(ctx), id, mode as StationAuthMode, force, (set) => audited(ctx, 'station.auth_mode', id, { mode: set.mode, was: set.was, ...(force ? { force } : {}) }));
  return showStationAuth(ctx, id);
}
