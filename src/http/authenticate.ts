import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import { CupsError } from '../core/errors.js';
import {
  judgeAuthentication,
  refusalAnswer,
  rotationCompletions,
  type AuthCredential,
  type PresentedCertificate,
  type PresentedToken,
} from '../core/authenticate.js';
import { bearerSecret, certificateFingerprint, euiFromCertificate, tokenSecretHash } from '../pki/index.js';
import type { UpdateInfoRequest } from '../protocol/types.js';
import type { StationAuth, StationAuthMode, StationAuthStore } from '../registry/auth-types.js';
import type { StationRegistry } from '../registry/types.js';
import type { RegistryPeek } from '../registry/cache/cache-types.js';
import type { Refusal } from '../registry/event-types.js';
import type { RefusalLog } from './refusal-log.js';
import type { RefusalRecorder } from './refusal-recorder.js';

/** What the auth step needs: only the auth half of the registry, plus the refusal rows. */
export interface AuthDeps {
  readonly registry: StationAuthStore & Pick<StationRegistry, 'recordRefusal'>;
  readonly clock: () => Date;
  /** Accept stations whose mode is none (and unregistered EUIs without credentials). */
  readonly allowUnauthenticated: boolean;
  /** Writes a registered station's refusal row after the refusal is answered; registry.recordRefusal, awaited, when absent. */
  readonly refusals?: RefusalRecorder;
  /** Coalesces the refusal's log line; written once per refusal when absent. */
  readonly refusalLog?: RefusalLog;
}

/** A request that may speak for its `router`. */
export interface Authenticated {
  /** The station's auth record; undefined for an EUI nobody registered. */
  readonly station: StationAuth | undefined;
  readonly via: StationAuthMode;
  readonly credential: AuthCredential;
}

/** What a request presented, read from its connection and headers once (see presentedBy). */
export interface Presented {
  /** Whether the request arrived over TLS. */
  readonly secure: boolean;
  readonly certificate: PresentedCertificate | null;
  /** SHA-256 of the bearer secret; null for an Authorization header that is not a bearer token; undefined without one. */
  readonly tokenHash: string | null | undefined;
  readonly remoteAddress: string | null;
}

/** The credentials a request presented: its connection (TLS, client certificate), its Authorization header, its peer. */
export function presentedBy(socket: Socket, authorization: string | undefined, remoteAddress: string | null): Presented {
  const secure = socket instanceof TLSSocket;
  const secret = authorization === undefined ? undefined : bearerSecret(authorization);
  return {
    secure,
    certificate: secure ? presentedCertificate(socket) : null,
    tokenHash: secret === undefined || secret === null ? secret : tokenSecretHash(secret),
    remoteAddress,
  };
}

/**
 * The auth step answered from the registry cache, without an await: the
 * verdict when it is an acceptance and everything it needs is held in memory.
 * undefined sends the request to authenticate(), which reads what is missing
 * and writes what a refusal or a token seen in clear must leave behind.
 */
export function authenticateFromMemory(peek: Pick<RegistryPeek, 'peekStationAuth' | 'peekToken'>, presented: Presented, req: UpdateInfoRequest, allowUnauthenticated: boolean, now: Date): Authenticated | undefined {
  const station = peek.peekStationAuth(req.router);
  if (station === undefined) return undefined;
  let token: PresentedToken | null = null;
  if (presented.tokenHash === null) token = { match: undefined };
  else if (presented.tokenHash !== undefined) {
    const match = peek.peekToken(presented.tokenHash);
    // Not held may still be a token in the database; a token seen over plain HTTP must be marked.
    if (match === undefined || !presented.secure) return undefined;
    token = { match };
  }
  const verdict = judgeAuthentication({ router: req.router, station, secure: presented.secure, certificate: presented.certificate, token, allowUnauthenticated, now });
  return verdict.ok ? { station, via: verdict.via, credential: verdict.credential } : undefined;
}

/**
 * The auth step of update-info, run before any station data is read: it reads
 * the station's auth record and the presented credentials only. A refusal is
 * recorded as an `auth` event of the station (when registered) and thrown as a
 * CupsError that the handler answers with 401 or 403.
 */
export async function authenticate(presented: Presented, req: UpdateInfoRequest, deps: AuthDeps, log: FastifyBaseLogger): Promise<Authenticated> {
  const { secure, certificate, remoteAddress } = presented;
  const token = presented.tokenHash === undefined ? null : await presentedToken(deps.registry, presented.tokenHash);
  const station = await deps.registry.getStationAuth(req.router);
  const now = deps.clock();
  if (!secure && token?.match !== undefined) await tokenSentInClear(deps, req.router, token.match.id, remoteAddress, now, log);
  const verdict = judgeAuthentication({
    router: req.router,
    station,
    secure,
    certificate,
    token,
    allowUnauthenticated: deps.allowUnauthenticated,
    now,
  });

  if (!verdict.ok) {
    const fields = { eui: req.router, reason: verdict.reason, ...verdict.detail };
    if (deps.refusalLog !== undefined) deps.refusalLog.refused('warn', 'update-info refused: authentication', verdict.code, remoteAddress, fields);
    else log.warn({ ...fields, code: verdict.code, remoteAddress }, 'update-info refused: authentication');
    if (station !== undefined) {
      // One row per reason and source, counted: a flood of refusals cannot bury the station's history.
      const refusal = { code: verdict.code, source: remoteAddress, message: `refused (${verdict.code}): ${verdict.reason}`, detail: verdict.detail };
      // Written after the answer (see RefusalRecorder): a registered EUI is refused as fast as an unregistered one.
      if (deps.refusals !== undefined) deps.refusals.record(req.router, refusal, now);
      else await recordNow(deps, req.router, refusal, now, log);
    }
    const answer = refusalAnswer(verdict, { certificate, token });
    throw new CupsError(answer.code, answer.kind, answer.reason);
  }
  return { station, via: verdict.via, credential: verdict.credential };
}

async function recordNow(deps: AuthDeps, eui: string, refusal: Refusal, now: Date, log: FastifyBaseLogger): Promise<void> {
  try {
    await deps.registry.recordRefusal(eui, refusal, now);
  } catch (e) {
    // The refusal stands whether or not it could be written down.
    log.error({ eui, err: e }, 'could not record the auth refusal');
  }
}

/**
 * A token that crossed the network in clear must be taken as known to others.
 * It is marked compromised (once) rather than retired: the station can only
 * receive a replacement by authenticating with it, so retiring it would lock
 * the station out. The request itself is refused as before.
 */
async function tokenSentInClear(deps: AuthDeps, eui: string, tokenId: string, remoteAddress: string | null, now: Date, log: FastifyBaseLogger): Promise<void> {
  try {
    const first = await deps.registry.markTokenCompromised(tokenId, `sent over plain HTTP from ${remoteAddress ?? 'an unknown address'}`, now);
    if (first) {
      log.warn({ eui, tokenId, remoteAddress }, 'token sent over plain HTTP: marked compromised; it stays valid so the station is not locked out; replace it (bscups station rotate) and serve over https');
    }
  } catch (e) {
    log.error({ eui, err: e, tokenId }, 'could not mark the token compromised');
  }
}

/**
 * Completes the rotations this exchange proved (see rotationCompletions). Runs
 * after the exchange is recorded; a failure here is logged, not answered: a
 * non-200 would push the station onto its backup credentials (PROTOCOL.md 5.3),
 * and the rotation stays pending, so the next exchange completes it.
 */
export async function completeRotations(
  registry: Pick<StationAuthStore, 'completeRotation'>,
  auth: Authenticated,
  req: UpdateInfoRequest,
  at: Date,
  log: FastifyBaseLogger,
): Promise<void> {
  if (auth.station === undefined) return;
  for (const completion of rotationCompletions(auth.station, auth.credential, req)) {
    try {
      const done = await registry.completeRotation(req.router, completion, at);
      if (done !== undefined) log.info({ eui: req.router, rotation: done }, `${done.category} credential rotation complete`);
    } catch (e) {
      log.error({ eui: req.router, err: e, rotation: completion }, 'could not complete the credential rotation; the next exchange retries');
    }
  }
}

function presentedCertificate(socket: TLSSocket): PresentedCertificate | null {
  const peer = socket.getPeerCertificate(false);
  // Node returns an empty object (or null once the socket is gone) when the client sent no certificate.
  if (peer === null || peer === undefined || peer.raw === undefined) return null;
  const error = socket.authorizationError as Error | string | null | undefined;
  return {
    authorized: socket.authorized,
    authorizationError: error === null || error === undefined ? null : typeof error === 'string' ? error : ((error as NodeJS.ErrnoException).code ?? error.message),
    euis: euiFromCertificate(peer),
    fingerprint: certificateFingerprint(peer.raw),
    notBefore: new Date(peer.valid_from),
    notAfter: new Date(peer.valid_to),
  };
}

async function presentedToken(registry: Pick<StationAuthStore, 'findToken'>, hash: string | null): Promise<PresentedToken> {
  return { match: hash === null ? undefined : await registry.findToken(hash) };
}
