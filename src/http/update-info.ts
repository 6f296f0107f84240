import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseUpdateInfoRequest } from '../protocol/index.js';
import type { UpdateInfoRequest } from '../protocol/types.js';
import { rotationCompletions } from '../core/authenticate.js';
import { quietPoll } from '../core/decide.js';
import { DEFAULT_HEALTH, healthSteady } from '../core/health.js';
import { hasRegistryPeek, type RegistryPeek } from '../registry/index.js';
import type { AppDeps } from './app.js';
import type { ServerMetrics } from './metrics.js';
import { armIdleTimeout, DEFAULT_LIMITS } from './connection-limits.js';
import { authenticateFromMemory, presentedBy, type Presented } from './authenticate.js';
import { readStationBody } from './station-body.js';
import { sendError, sendNothingToChange, secondsSince } from './station-answer.js';
import { createExchange } from './update-info-exchange.js';
import type { RefusalLog } from './refusal-log.js';
import type { RefusalRecorder } from './refusal-recorder.js';

/** What the station route needs: the app's dependencies with the defaults filled in. */
export type UpdateInfoDeps = AppDeps & { readonly clock: () => Date; readonly metrics: ServerMetrics; readonly bodyLimit: number; readonly refusalLog?: RefusalLog; readonly refusals?: RefusalRecorder };

/** A plain node:http request handler. */
export type StationHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * POST /update-info as a plain node:http handler (the station's path is the one
 * measured against the process's limit, see STYLE.md "Hot paths"): body read by
 * hand, parse, authenticate, decide, answer. An up-to-date poll whose auth
 * record, token and twin the registry cache holds is answered without an
 * await: its last-seen stamp goes to the batch and it is logged at debug.
 * Its health (core/health.ts) is a timestamp comparison here: a poll that
 * leaves it as it is stays on this path; one that moves it is an exchange.
 * Everything else (a change to send, a refusal, an unknown station, anything
 * not in memory) goes through the exchange in update-info-exchange.ts, which
 * reads the database and writes what the exchange leaves behind.
 */
export function createUpdateInfoHandler(deps: UpdateInfoDeps): StationHandler {
  const peek = hasRegistryPeek(deps.registry) ? deps.registry : undefined;
  const exchange = createExchange(deps);
  const { logger, metrics, clock, bodyLimit } = deps;
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const allowUnauthenticated = deps.allowUnauthenticated === true;
  const health = deps.health ?? DEFAULT_HEALTH;

  function answer(req: IncomingMessage, res: ServerResponse, started: number, body: unknown): void {
    let request: UpdateInfoRequest | undefined;
    try {
      request = parseUpdateInfoRequest(body);
      const presented = presentedBy(req.socket, req.headers.authorization, req.socket.remoteAddress ?? null);
      if (peek !== undefined && answerFromMemory(peek, req, res, started, request, presented)) return;
      // Past here the answer may wait on the database or stream firmware: a silent connection is closed.
      armIdleTimeout(req, limits);
      exchange(res, started, request, presented).catch((e: unknown) => refuse(req, res, started, e, request?.router));
    } catch (e) {
      refuse(req, res, started, e, request?.router);
    }
  }

  /** An error answer: the client may not read it (a flood of pipelined bad requests), so the idle timeout applies. */
  function refuse(req: IncomingMessage, res: ServerResponse, started: number, error: unknown, eui: string | undefined, close = false): void {
    armIdleTimeout(req, limits);
    sendError(res, deps, started, error, eui, close);
  }

  /** The up-to-date poll from memory; false (having changed nothing) when anything it needs is not there. */
  function answerFromMemory(peek: RegistryPeek, req: IncomingMessage, res: ServerResponse, started: number, request: UpdateInfoRequest, presented: Presented): boolean {
    const now = clock();
    const auth = authenticateFromMemory(peek, presented, request, allowUnauthenticated, now);
    if (auth === undefined) return false;
    const station = peek.peekStation(request.router);
    if (station === undefined) return false;
    if (auth.station !== undefined && auth.station.rotations.length > 0 && rotationCompletions(auth.station, auth.credential, request).length > 0) return false;
    if (!quietPoll(request, station)) return false;
    // Health is decided on every exchange: a poll that moves it (an early call, a recovery) is written by the exchange.
    if (!healthSteady(station.health, peek.peekLastSeen(request.router), now.getTime(), health, request.tcUri !== null)) return false;
    // Last: the stamp is the one thing this path leaves behind.
    if (!peek.stampSeen(request.router, { at: now, remoteAddress: presented.remoteAddress })) return false;
    metrics.sawStation(request.router, true);
    sendNothingToChange(res, metrics, started);
    // Not written whole: the client is not reading (pipelined polls it never reads would otherwise hold the connection).
    if (req.socket.writableLength > 0) armIdleTimeout(req, limits);
    // The line (and its clock read) is built only when debug lines are written.
    if (logger.level === 'debug' || logger.level === 'trace') logger.debug({ eui: request.router, status: 200, auth: auth.via, ms: secondsSince(started) * 1000 }, 'update-info: up to date');
    return true;
  }

  return (req, res) => {
    const started = performance.now();
    readStationBody(req, bodyLimit, (error, body) => {
      if (error === undefined) answer(req, res, started, body);
      else refuse(req, res, started, error, undefined, true);
    });
  };
}
