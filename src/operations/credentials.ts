import { randomBytes, X509Certificate } from 'node:crypto';
import { conflict, invalid } from '../core/errors.js';
import { bearerSecret, certificateFingerprint, issueStationCert, issueStationToken, stationCredentialFiles, tokenSecretHash, type IssuedCert } from '../pki/index.js';
import { buildCredentialBlob, credentialCrc, normaliseStationKey, parseCredentialBlob } from '../protocol/index.js';
import type { CredentialCategory, StationAuth, StationAuthMode } from '../registry/auth-types.js';
import type { NewAuditEntry } from '../registry/index.js';
import type { Station } from '../registry/types.js';
import { currentTrust } from './credential-blob.js';
import { deliverCredentials, stationNotFound, storeDeliveries, type CredentialDeps, type Delivered, type Delivery } from './credential-delivery.js';

/** A credential given by the operator (`station credentials`): files as PEM or DER. */
export interface CredentialInput {
  readonly eui: string;
  readonly category: CredentialCategory;
  readonly trust: Buffer;
  readonly cert?: Buffer | null;
  readonly key?: Buffer | null;
  /** Token header lines, e.g. `Authorization: Bearer s3cr3t`. */
  readonly token?: string | null;
}

export interface SetCredentialResult {
  readonly eui: string;
  readonly category: CredentialCategory;
  readonly mode: 'token' | 'mutual TLS' | 'server TLS';
  readonly crc: number;
  readonly size: number;
  readonly blob: string;
  /** For CUPS: the certificate or token this server now accepts from the station, or null when it cannot check it. */
  readonly accepted: string | null;
}

/**
 * Sets the credential a station should hold. A CUPS certificate or bearer token
 * becomes one the server accepts, with a rotation towards it, in the same
 * transaction that makes it the desired credential: otherwise a station with a
 * certificate list (or in token mode) would fetch it and then be refused.
 */
export async function setCredential(deps: CredentialDeps, input: CredentialInput, audit?: (result: SetCredentialResult) => NewAuditEntry | null): Promise<SetCredentialResult> {
  const { eui, category } = input;
  const cert = input.cert ?? null;
  const key = input.key ?? null;
  const token = input.token ?? null;
  if ((cert === null) !== (key === null)) throw invalid('incomplete_credential', '--cert and --key go together (mutual TLS)');
  if (token !== null && cert !== null) throw invalid('incomplete_credential', 'a credential has either --cert/--key or a token, not both');
  const blob = buildCredentialBlob({ trust: input.trust, cert, key: key === null ? null : normaliseStationKey(key), token });
  const mode = token !== null ? 'token' : cert !== null ? 'mutual TLS' : 'server TLS';
  const tracked = category === 'cups' ? checkable(blob) : null;
  // The same command run again (say after a crash once it had committed) finds its token registered: keep that one.
  const known = tracked?.token === undefined ? undefined : await deps.registry.findToken(tracked.token.hash);
  if (known !== undefined && known.status === 'active' && known.eui === eui && known.credCrc === credentialCrc(blob) && tracked !== null) {
    tracked.label = `token ${known.id}`;
    delete tracked.token;
  }
  const delivery: Delivery = {
    category,
    blob,
    ...(tracked?.certificate === undefined ? {} : { certificate: tracked.certificate }),
    ...(tracked?.token === undefined ? {} : { token: tracked.token }),
    ...(tracked === null ? {} : { rotation: { targetMode: tracked.mode } }),
    message:
      `desired ${category === 'cups' ? 'cupsCred' : 'tcCred'} set (${mode})` +
      (tracked === null ? '' : `; ${tracked.label} accepted, older CUPS credentials retire once the station reports it`),
  };
  const resultOf = (delivered: readonly Delivered[]): SetCredentialResult => {
    const ref = (delivered[0] as Delivered).ref;
    return { eui, category, mode, crc: ref.crc, size: ref.size, blob: ref.blob, accepted: tracked?.label ?? null };
  };
  const guard = ({ auth }: { readonly auth: StationAuth }) => {
    const known = auth.certificates.find((c) => c.fingerprint === tracked?.certificate?.fingerprint);
    if (known?.status === 'retired') {
      throw conflict('certificate_retired', `certificate ${known.fingerprint} of station ${eui} was retired (${known.retiredReason ?? 'retired'}): the station would be refused with it; issue a new one with "bscups station issue-cert ${eui}"`);
    }
  };
  const { delivered } = await deliverCredentials(deps, eui, [delivery], guard, audit === undefined ? undefined : (d) => audit(resultOf(d)));
  return resultOf(delivered);
}

/** What the server can check in a CUPS blob set by hand; null for trust-only blobs and tokens of another form. */
function checkable(blob: Buffer): { certificate?: Delivery['certificate']; token?: Delivery['token']; mode: StationAuthMode; label: string } | null {
  const parts = parseCredentialBlob(blob);
  if (parts.cert !== null) {
    const fingerprint = certificateFingerprint(parts.cert);
    return { certificate: { fingerprint, notAfter: new Date(new X509Certificate(parts.cert).validTo) }, mode: 'mtls', label: `certificate ${fingerprint}` };
  }
  const authorization = parts.token?.split(/\r\n/).find((line) => /^authorization:/i.test(line));
  const secret = authorization === undefined ? null : bearerSecret(authorization.slice(authorization.indexOf(':') + 1).trim());
  if (secret === null) return null;
  const id = `tok-${randomBytes(6).toString('hex')}`;
  return { token: { id, hash: tokenSecretHash(secret) }, mode: 'token', label: `token ${id}` };
}

/** One credential issued to a station and set as its desired credential. */
export interface IssuedCredential {
  readonly category: CredentialCategory;
  readonly kind: 'certificate' | 'token';
  /** CRC of the blob: what the station reports once it holds the credential. */
  readonly crc: number;
  readonly size: number;
  readonly blob: string;
  readonly fingerprint?: string;
  readonly notAfter?: Date;
  readonly tokenId?: string;
  /** The token header line; only for the operator's terminal, never stored. */
  readonly token?: string;
  /** The station's files: `{cat}.trust`, `{cat}.crt`, `{cat}.key` as the station writes them. */
  readonly files: { readonly trust: Buffer; readonly crt: Buffer; readonly key: Buffer };
}

export interface IssueInput {
  readonly eui: string;
  readonly kind: 'certificate' | 'token';
  /** Each with the CA certificate (PEM or DER) the station verifies that server with. */
  readonly credentials: readonly { readonly category: CredentialCategory; readonly trust: Buffer }[];
  /** The station CA; required for certificates. */
  readonly ca?: IssuedCert;
  /** Lifetime of issued certificates in days; the station default (pki DEFAULT_VALID_DAYS) without it. */
  readonly validDays?: number;
  /** Checked on the station's state inside the transaction, under its row lock; throws to refuse (nothing is issued). */
  readonly guard?: (current: { readonly station: Station; readonly auth: StationAuth }) => void;
}

export interface IssueResult {
  readonly eui: string;
  readonly credentials: readonly IssuedCredential[];
  /** The auth mode in force, and the one a pending CUPS rotation switches to once the station uses its new credential. */
  readonly mode: StationAuthMode;
  readonly pendingMode: StationAuthMode | null;
}

/**
 * Issues certificates or tokens (one per category) and makes them the desired
 * credentials in one transaction. The mode does not change yet, even for a
 * station never seen: it may still need its current mode to fetch them (the
 * quickstart's unauthenticated first contact), and the new mode is accepted
 * beside it until the station proves the new credential works.
 */
export async function issueCredentials(deps: CredentialDeps, input: IssueInput, audit?: (credentials: readonly IssuedCredential[]) => NewAuditEntry | null): Promise<IssueResult> {
  const { eui } = input;
  const validDays = checkValidDays(input.kind, input.validDays);
  const made: { delivery: Delivery; issued: Omit<IssuedCredential, 'crc' | 'size' | 'blob'> }[] = [];
  for (const { category, trust } of input.credentials) made.push(await issueOne(eui, input.kind, category, trust, input.ca, validDays));
  const credentialsOf = (delivered: readonly Delivered[]): IssuedCredential[] =>
    made.map((m, i) => {
      const { ref } = delivered[i] as Delivered;
      return { ...m.issued, crc: ref.crc, size: ref.size, blob: ref.blob };
    });
  const { delivered } = await deliverCredentials(deps, eui, made.map((m) => m.delivery), input.guard, audit === undefined ? undefined : (d) => audit(credentialsOf(d)));
  const auth = await deps.registry.getStationAuth(eui);
  if (auth === undefined) throw stationNotFound(eui);
  return {
    eui,
    credentials: credentialsOf(delivered),
    mode: auth.mode,
    pendingMode: auth.rotations.find((r) => r.category === 'cups' && r.targetMode !== auth.mode)?.targetMode ?? null,
  };
}

/** Longest certificate lifetime accepted: a typo of a few digits must not issue a certificate for millennia. */
export const MAX_VALID_DAYS = 36_500;

/** A lifetime is for certificates only and a whole number of days, 1 to MAX_VALID_DAYS. */
export function checkValidDays(kind: 'certificate' | 'token', validDays: number | undefined): number | undefined {
  if (validDays === undefined) return undefined;
  if (kind !== 'certificate') {
    throw invalid('invalid_validity', 'a validity in days applies to certificates only; tokens do not expire (rotate them with "bscups station rotate")', { field: 'validDays' });
  }
  if (!Number.isInteger(validDays) || validDays < 1 || validDays > MAX_VALID_DAYS) {
    throw invalid('invalid_validity', `the validity must be a whole number of days from 1 to ${MAX_VALID_DAYS}, got ${String(validDays)}`, { field: 'validDays' });
  }
  return validDays;
}

async function issueOne(eui: string, kind: 'certificate' | 'token', category: CredentialCategory, trust: Buffer, ca: IssuedCert | undefined, validDays?: number) {
  const targetMode: StationAuthMode | null = category === 'cups' ? (kind === 'certificate' ? 'mtls' : 'token') : null;
  if (kind === 'certificate') {
    if (ca === undefined) throw invalid('missing_ca', 'issuing a certificate needs the station CA (ca.pem and ca.key in the PKI folder); run "bscups pki init" first');
    const cert = await issueStationCert(ca, { eui, ...(validDays === undefined ? {} : { validDays }) });
    // Checks the station's DER rules on every element and that cert and key belong to the CA.
    const files = stationCredentialFiles(ca, cert);
    const blob = buildCredentialBlob({ trust, cert: files.crt, key: files.key });
    const parts = parseCredentialBlob(blob);
    return {
      delivery: {
        category,
        blob,
        certificate: { fingerprint: cert.fingerprint256, notAfter: cert.notAfter },
        rotation: { targetMode },
        message: `issued certificate ${cert.fingerprint256} as the ${category} credential; older ${category} credentials retire once the station reports it`,
      },
      issued: { category, kind, fingerprint: cert.fingerprint256, notAfter: cert.notAfter, files: { trust: parts.trust, crt: files.crt, key: files.key } },
    };
  }
  const token = issueStationToken();
  const blob = buildCredentialBlob({ trust, token: token.headerLine });
  const parts = parseCredentialBlob(blob);
  return {
    delivery: {
      category,
      blob,
      token: { id: token.id, hash: token.hash },
      rotation: { targetMode },
      message: `issued token ${token.id} as the ${category} credential; older ${category} credentials retire once the station reports it`,
    },
    issued: {
      category,
      kind,
      tokenId: token.id,
      token: token.headerLine,
      files: { trust: parts.trust, crt: Buffer.alloc(0), key: Buffer.from(parts.token ?? '', 'latin1') },
    },
  };
}

export interface RotateInput {
  readonly eui: string;
  readonly category: CredentialCategory;
  /** The CA certificate for the new blob; by default, for TC, the trust of the current desired credential. */
  readonly trust?: Buffer;
  /** The station CA (verifies this server for CUPS; issues certificates). */
  readonly ca?: IssuedCert;
  readonly caCert: Buffer;
}

/** Replaces the certificate or token the station uses for a category with a new one of the same kind. */
export async function rotateCredential(deps: CredentialDeps, input: RotateInput, audit?: (issued: IssuedCredential) => NewAuditEntry | null): Promise<IssuedCredential> {
  const { eui, category } = input;
  const [station, auth] = await Promise.all([deps.registry.getStation(eui), deps.registry.getStationAuth(eui)]);
  if (station === undefined || auth === undefined) throw stationNotFound(eui);
  const kind = kindInUse(auth, category);
  const trust = category === 'cups' ? input.caCert : (input.trust ?? (await currentTrust(deps.blobs, station, 'tc')) ?? input.caCert);
  const issued = await issueCredentials(deps, { eui, kind, credentials: [{ category, trust }], ...(input.ca === undefined ? {} : { ca: input.ca }) }, audit === undefined ? undefined : (c) => audit(c[0] as IssuedCredential));
  return issued.credentials[0] as IssuedCredential;
}

/** A rotation of several categories made ready: blobs stored, nothing referring to them yet. */
export interface PreparedCredentials {
  readonly eui: string;
  readonly deliveries: readonly Delivery[];
  readonly delivered: readonly Delivered[];
}

/**
 * The first half of rotateCredential for a caller that commits in a transaction
 * of its own (a rollout step): issues a new credential of the kind in use for
 * each category and stores the blobs. Commit with credentialPlan(deliveries,
 * delivered); if that never commits, dropUnreferenced removes the blobs.
 */
export async function prepareRotation(deps: CredentialDeps, input: { readonly eui: string; readonly categories: readonly CredentialCategory[]; readonly caCert: Buffer; readonly ca?: IssuedCert }): Promise<PreparedCredentials> {
  const { eui } = input;
  const [station, auth] = await Promise.all([deps.registry.getStation(eui), deps.registry.getStationAuth(eui)]);
  if (station === undefined || auth === undefined) throw stationNotFound(eui);
  const deliveries: Delivery[] = [];
  for (const category of input.categories) {
    const kind = kindInUse(auth, category);
    const trust = category === 'cups' ? input.caCert : ((await currentTrust(deps.blobs, station, 'tc')) ?? input.caCert);
    deliveries.push((await issueOne(eui, kind, category, trust, input.ca)).delivery);
  }
  return { eui, deliveries, delivered: await storeDeliveries(deps, eui, deliveries) };
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
