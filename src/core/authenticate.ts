import type { UpdateInfoRequest } from '../protocol/types.js';
import type { CredentialCategory, StationAuth, StationAuthMode, StationToken } from './station-auth-model.js';

/** A client certificate as the TLS layer saw it, reduced to what the rules need. */
export interface PresentedCertificate {
  /** The chain verified against the configured client CA (Node's `socket.authorized`). */
  readonly authorized: boolean;
  /** Node's verification error code (e.g. CERT_HAS_EXPIRED) when not authorized. */
  readonly authorizationError: string | null;
  /** Station EUIs the certificate names (CN, SANs), canonical. */
  readonly euis: readonly string[];
  /** SHA-256 of the DER certificate, lowercase hex. */
  readonly fingerprint: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A token the request carried; only the lookup result of its hash, never the secret. */
export interface PresentedToken {
  /** The stored token whose hash matched, or undefined when none did (or the header was malformed). */
  readonly match: StationToken | undefined;
}

export interface AuthInput {
  /** The EUI the request claims (its `router`). */
  readonly router: string;
  /** The station's auth record; undefined when the EUI is not registered. */
  readonly station: StationAuth | undefined;
  /** Whether the request arrived over TLS. */
  readonly secure: boolean;
  readonly certificate: PresentedCertificate | null;
  readonly token: PresentedToken | null;
  /** The server was started with --allow-unauthenticated. */
  readonly allowUnauthenticated: boolean;
  readonly now: Date;
}

/** The credential a request authenticated with. */
export type AuthCredential =
  | { readonly kind: 'certificate'; readonly fingerprint: string; readonly credCrc: number | null }
  | { readonly kind: 'token'; readonly id: string; readonly credCrc: number }
  | { readonly kind: 'none' };

export interface AuthRefusal {
  readonly ok: false;
  /** unauthenticated (401): no or invalid credentials; permission_denied (403): valid, but not for this station or mode. */
  readonly kind: 'unauthenticated' | 'permission_denied';
  readonly code: string;
  /** Short, secret-free reason for the station's log and the event. */
  readonly reason: string;
  /** Secret-free facts for the auth event (fingerprint, token id, mode). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export type AuthVerdict =
  | { readonly ok: true; readonly via: StationAuthMode; readonly credential: AuthCredential }
  | AuthRefusal;

/**
 * Decides whether a request may speak for `router`. A station accepts its mode
 * plus the target mode of a pending CUPS rotation, so a station switching mode
 * can still fetch its new credential with the old one and then use the new one.
 * Presented credentials are judged by the mode that accepts them; credentials
 * that are valid but fit no accepted mode are refused as permission_denied.
 */
export function judgeAuthentication(input: AuthInput): AuthVerdict {
  const { station } = input;
  if (station === undefined) return judgeUnregistered(input);
  const target = station.rotations.find((r) => r.category === 'cups')?.targetMode ?? null;
  const modes = new Set<StationAuthMode>(target === null ? [station.mode] : [station.mode, target]);
  const modeDetail = { mode: station.mode, ...(target !== null && target !== station.mode ? { pendingMode: target } : {}) };

  if (modes.has('mtls') && input.certificate !== null) return judgeCertificate(input, station);
  if (modes.has('token') && input.token !== null) return judgeToken(input);
  if (modes.has('none') && input.allowUnauthenticated) return { ok: true, via: 'none', credential: { kind: 'none' } };

  // What was presented fits no accepted mode: say whether it was at least valid.
  if (input.certificate !== null) {
    const verdict = judgeCertificate(input, undefined);
    if (!verdict.ok) return verdict;
    return refuse('permission_denied', 'wrong_auth_mode', `station ${input.router} does not authenticate by client certificate (mode ${[...modes].join('/')})`, modeDetail);
  }
  if (input.token !== null) {
    const verdict = judgeToken(input);
    if (!verdict.ok) return verdict;
    return refuse('permission_denied', 'wrong_auth_mode', `station ${input.router} does not authenticate by token (mode ${[...modes].join('/')})`, modeDetail);
  }
  if (modes.has('mtls')) {
    if (!input.secure) return refuse('unauthenticated', 'tls_required', `station ${input.router} uses mutual TLS: connect over https`, modeDetail);
    return refuse('unauthenticated', 'client_certificate_required', `station ${input.router} must present its client certificate`, modeDetail);
  }
  if (modes.has('token')) {
    if (!input.secure) return refuse('unauthenticated', 'tls_required', `station ${input.router} uses a token, which is only accepted over https`, modeDetail);
    return refuse('unauthenticated', 'token_required', `station ${input.router} must send its token header`, modeDetail);
  }
  return refuse(
    'unauthenticated',
    'credentials_required',
    `station ${input.router} has no credentials and this server does not accept unauthenticated stations`,
    modeDetail,
  );
}

/** An EUI nobody registered: whatever it presents must be valid for it; without credentials only when allowed. */
function judgeUnregistered(input: AuthInput): AuthVerdict {
  if (input.certificate !== null) return judgeCertificate(input, undefined);
  if (input.token !== null) return judgeToken(input);
  if (input.allowUnauthenticated) return { ok: true, via: 'none', credential: { kind: 'none' } };
  return refuse('unauthenticated', 'credentials_required', 'no client certificate or token was presented', {});
}

/**
 * Chain and validity (Node verified the chain against the client CA), the EUI it
 * names, and the station's allow-list. Once a station has any registered
 * certificate, only active ones pass: revoking the last one must not reopen
 * the door to every certificate the CA ever signed for it.
 */
function judgeCertificate(input: AuthInput, station: StationAuth | undefined): AuthVerdict {
  const cert = input.certificate as PresentedCertificate;
  const detail = { fingerprint: cert.fingerprint };
  if (!cert.authorized) {
    const why = cert.authorizationError ?? 'not verified';
    const code = why === 'CERT_HAS_EXPIRED' ? 'certificate_expired' : 'certificate_untrusted';
    return refuse('unauthenticated', code, `client certificate refused: ${why}`, { ...detail, error: why });
  }
  const now = input.now.getTime();
  // Written so that an unreadable date (NaN) refuses too.
  if (!(now >= cert.notBefore.getTime() && now <= cert.notAfter.getTime())) {
    return refuse('unauthenticated', 'certificate_expired', `client certificate is outside its validity (${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`, detail);
  }
  if (cert.euis.length === 0) return refuse('permission_denied', 'certificate_names_no_station', 'client certificate names no station EUI', detail);
  if (cert.euis.length > 1) {
    return refuse('permission_denied', 'certificate_names_several_stations', `client certificate names several stations (${cert.euis.join(', ')})`, detail);
  }
  const named = cert.euis[0] as string;
  if (named !== input.router) {
    return refuse('permission_denied', 'certificate_for_other_station', `client certificate is for station ${named}, not ${input.router}`, { ...detail, certificateEui: named });
  }
  if (station === undefined) return { ok: true, via: 'mtls', credential: { kind: 'certificate', fingerprint: cert.fingerprint, credCrc: null } };
  const registered = station.certificates.filter((c) => c.category === 'cups');
  const entry = registered.find((c) => c.fingerprint === cert.fingerprint);
  if (entry?.status === 'retired') {
    return refuse('unauthenticated', 'certificate_retired', `client certificate was retired (${entry.retiredReason ?? 'retired'})`, detail);
  }
  if (entry === undefined && registered.length > 0) {
    return refuse('unauthenticated', 'certificate_not_allowed', `client certificate is not on station ${input.router}'s certificate list`, detail);
  }
  return { ok: true, via: 'mtls', credential: { kind: 'certificate', fingerprint: cert.fingerprint, credCrc: entry?.credCrc ?? null } };
}

function judgeToken(input: AuthInput): AuthVerdict {
  if (!input.secure) return refuse('unauthenticated', 'tls_required', 'tokens are only accepted over https', {});
  const match = (input.token as PresentedToken).match;
  if (match === undefined) return refuse('unauthenticated', 'token_invalid', 'the token is not valid', {});
  const detail = { tokenId: match.id };
  if (match.eui !== input.router) {
    return refuse('permission_denied', 'token_for_other_station', `the token belongs to another station, not ${input.router}`, detail);
  }
  if (match.status === 'retired') return refuse('unauthenticated', 'token_retired', `token ${match.id} was retired (${match.retiredReason ?? 'retired'})`, detail);
  if (match.category !== 'cups') {
    return refuse('permission_denied', 'token_wrong_category', `token ${match.id} is the station's ${match.category} token, not its CUPS token`, detail);
  }
  return { ok: true, via: 'token', credential: { kind: 'token', id: match.id, credCrc: match.credCrc } };
}

/** The one answer to every request that presented no credential, registered EUI or not. */
export const NO_CREDENTIALS: Pick<AuthRefusal, 'kind' | 'code' | 'reason'> = Object.freeze({
  kind: 'unauthenticated',
  code: 'credentials_required',
  reason: 'no client certificate or token was presented; a station authenticates with its client certificate or its token, over https',
});

/**
 * What the client is told about a refusal. Without any credential, the real
 * reason (mtls station, token station, TLS required, not registered) would tell
 * a prober which EUIs are registered and how they authenticate, so every such
 * request gets the same status and text; the real reason goes to the log and the
 * station's refusal row. With a credential the reason is about that credential
 * and is told as it is.
 */
export function refusalAnswer(refusal: AuthRefusal, presented: Pick<AuthInput, 'certificate' | 'token'>): Pick<AuthRefusal, 'kind' | 'code' | 'reason'> {
  if (presented.certificate === null && presented.token === null) return NO_CREDENTIALS;
  return { kind: refusal.kind, code: refusal.code, reason: refusal.reason };
}

function refuse(kind: AuthRefusal['kind'], code: string, reason: string, detail: Readonly<Record<string, unknown>>): AuthRefusal {
  return { ok: false, kind, code, reason, detail };
}

/**
 * The pending rotations this exchange completes. A CUPS rotation completes only
 * when the station reports the new CRC *and* authenticated with the new
 * credential: it reports the CRC of its regular credential set even while it
 * talks with its backup set, so a report alone does not prove the new
 * credential works, and retiring the old one then could lock the station out.
 * The server never sees the TC credential used, so the report decides there.
 */
export function rotationCompletions(
  station: StationAuth,
  credential: AuthCredential,
  req: Pick<UpdateInfoRequest, 'cupsCredCrc' | 'tcCredCrc'>,
): Array<{ readonly category: CredentialCategory; readonly newCrc: number }> {
  const out: Array<{ category: CredentialCategory; newCrc: number }> = [];
  for (const rotation of station.rotations) {
    if (rotation.category === 'cups') {
      const usedNew = credential.kind !== 'none' && credential.credCrc === rotation.newCrc;
      if (req.cupsCredCrc === rotation.newCrc && usedNew) out.push({ category: 'cups', newCrc: rotation.newCrc });
    } else if (req.tcCredCrc === rotation.newCrc) {
      out.push({ category: 'tc', newCrc: rotation.newCrc });
    }
  }
  return out;
}
