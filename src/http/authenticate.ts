import { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
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

/** What the auth step needs: only the auth half of the registry, plus the refusal rows. */
export interface AuthDeps {
  readonly registry: StationAuthStore & Pick<StationRegistry, 'recordRefusal'>;
  readonly clock: () => Date;
  /** Accept stations whose mode is none (and unregistered EUIs without credentials). */
  readonly allowUnauthenticated: boolean;
}

/** A request that may speak for its `router`. */
export interface Authenticated {
  /** The station's auth record; undefined for an EUI nobody registered. */
  readonly station: StationAuth | undefined;
  readonly via: StationAuthMode;
  readonly credential: AuthCredential;
}

/**
 * The auth step of update-info, run before any station data is read: it reads
 * the station's auth record and the presented credentials only. A refusal is
 * recorded as an `auth` event of the station (when registered) and thrown as a
 * CupsError that the app answers with 401 or 403.
 */
export async function authenticate(request: FastifyRequest, req: UpdateInfoRequest, deps: AuthDeps, log: FastifyBaseLogger): Promise<Authenticated> {
  const socket = request.raw.socket;
  const secure = socket instanceof TLSSocket;
  const certificate = secure ? presentedCertificate(socket) : null;
  const authorization = request.headers.authorization;
  const token = authorization === undefined ? null : await presentedToken(deps.registry, authorization);
  const station = await deps.registry.getStationAuth(req.router);
  const now = deps.clock();
  const remoteAddress = request.ip ?? null;
  if (!secure && token?.match !== undefined) await tokenSentInClear(deps, token.match.id, remoteAddress, now, log);
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
    log.warn({ code: verdict.code, reason: verdict.reason, remoteAddress, ...verdict.detail }, 'update-info refused: authentication');
    if (station !== undefined) {
      try {
        // One row per reason and source, counted: a flood of refusals cannot bury the station's history.
        await deps.registry.recordRefusal(req.router, { code: verdict.code, source: remoteAddress, message: `refused (${verdict.code}): ${verdict.reason}`, detail: verdict.detail }, now);
      } catch (e) {
        // The refusal stands whether or not it could be written down.
        log.error({ err: e }, 'could not record the auth refusal');
      }
    }
    const answer = refusalAnswer(verdict, { certificate, token });
    throw new CupsError(answer.code, answer.kind, answer.reason);
  }
  return { station, via: verdict.via, credential: verdict.credential };
}

/**
 * A token that crossed the network in clear must be taken as known to others.
 * It is marked compromised (once) rather than retired: the station can only
 * receive a replacement by authenticating with it, so retiring it would lock
 * the station out. The request itself is refused as before.
 */
async function tokenSentInClear(deps: AuthDeps, tokenId: string, remoteAddress: string | null, now: Date, log: FastifyBaseLogger): Promise<void> {
  try {
    const first = await deps.registry.markTokenCompromised(tokenId, `sent over plain HTTP from ${remoteAddress ?? 'an unknown address'}`, now);
    if (first) {
      log.warn({ tokenId, remoteAddress }, 'token sent over plain HTTP: marked compromised; it stays valid so the station is not locked out; replace it (bscups station rotate) and serve over https');
    }
  } catch (e) {
    log.error({ err: e, tokenId }, 'could not mark the token compromised');
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
      if (done !== undefined) log.info({ rotation: done }, `${done.category} credential rotation complete`);
    } catch (e) {
      log.error({ err: e, rotation: completion }, 'could not complete the credential rotation; the next exchange retries');
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

async function presentedToken(registry: Pick<StationAuthStore, 'findToken'>, authorization: string): Promise<PresentedToken> {
  const secret = bearerSecret(authorization);
  if (secret === null) return { match: undefined };
  return { match: await registry.findToken(tokenSecretHash(secret)) };
}
