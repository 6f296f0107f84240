import { setTimeout as delay } from 'node:timers/promises';
import { invalid, isCupsError } from '../core/errors.js';
import { encodeStationHttpRequest, encodeStationRequestBody, parseEui } from '../protocol/index.js';
import type { DecodedResponse, UpdateInfoRequest } from '../protocol/types.js';
import { applyConfig } from './apply.js';
import { decodeBody } from './decode-body.js';
import { stationTransport } from './cups-tls.js';
import { parseCupsUri } from './cups-uri.js';
import { installUpdate, rerunLeftoverUpdate } from './firmware.js';
import { readCredentialFiles, readStationHome, readUri } from './home.js';
import { httpExchange } from './http-client.js';
import { nextExchangeDelay, type TcOutcome } from './schedule.js';
import { probeTc } from './tc-probe.js';
import type { ExchangeResult, RawExchangeResponse, RunOptions, SimulatedStation, SimulatedStationOptions } from './types.js';

/** The station's CUPS_CONN_TIMEOUT. */
const DEFAULT_TIMEOUT_MS = 60_000;
const NOTHING_TO_CHANGE_LENGTH = 14;

/** Creates a station emulator over an existing home folder (see initStationHome). */
export function createSimulatedStation(options: SimulatedStationOptions): SimulatedStation {
  const home = options.home;
  const eui = parseEui(options.eui, 'eui');
  const model = options.model ?? 'linux';
  const station = options.stationVersion ?? `2.0.6(${model}/bscups-sim) ${buildDate(new Date())}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw invalid('simulator_bad_timeout', `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`, { field: 'timeoutMs' });
  }
  const waitForUpdate = options.waitForUpdate ?? true;
  const log = options.log ?? ((): void => {});
  // The station's start: a leftover update runs again before its first exchange (PROTOCOL.md 8.5).
  let started: Promise<boolean> | undefined;

  async function exchange(exchangeOptions: { signal?: AbortSignal } = {}): Promise<ExchangeResult> {
    await (started ??= rerunLeftoverUpdate(home, waitForUpdate, log));
    const state = await readStationHome(home);
    const request: UpdateInfoRequest = {
      router: eui,
      cupsUri: state.cupsUri,
      tcUri: state.tcUri,
      cupsCredCrc: state.cupsCredCrc,
      tcCredCrc: state.tcCredCrc,
      station,
      model,
      package: state.version,
      keys: state.keys,
    };
    const failed = (error: string, status = 0, rawResponse?: RawExchangeResponse): ExchangeResult => {
      log(`Interaction with CUPS failed: ${error}`);
      return { status, ok: false, error, request, ...(rawResponse ? { rawResponse } : {}), applied: [], nothingToChange: false };
    };
    if (state.cupsUri === null) return failed('No CUPS URI configured: write the CUPS server URI to cups.uri in the station home');

    let requestBytes: Buffer;
    let target;
    let transport;
    try {
      target = parseCupsUri(state.cupsUri);
      transport = stationTransport(target, await readCredentialFiles(home, 'cups'));
      requestBytes = encodeStationHttpRequest({
        host: target.hostPort,
        body: encodeStationRequestBody(request),
        ...(transport.headerLines !== undefined ? { headerLines: transport.headerLines } : {}),
      });
    } catch (e) {
      if (isCupsError(e)) return failed(e.message);
      throw e;
    }
    log(`Connecting to CUPS ... ${state.cupsUri} (auth: ${transport.authMode})`);
    const outcome = await httpExchange({
      target,
      tls: transport.tls,
      request: requestBytes,
      timeoutMs,
      ...(exchangeOptions.signal ? { signal: exchangeOptions.signal } : {}),
    });
    if (!outcome.ok) {
      const raw = outcome.response;
      return failed(outcome.error, raw?.status ?? 0, raw ? rawOf(raw) : undefined);
    }
    const raw = outcome.response;
    const rawResponse = rawOf(raw);
    if (raw.status !== 200) {
      // The station would rotate to its -bak/-boot credential set here; the simulator only reports.
      const text = raw.body.toString('utf8').trim();
      return failed(text !== '' ? text : `HTTP ${raw.status}`, raw.status, rawResponse);
    }
    const nothingToChange = raw.body.length === NOTHING_TO_CHANGE_LENGTH && raw.body.every((b) => b === 0);

    let response: DecodedResponse;
    try {
      response = decodeBody(raw.body);
    } catch (e) {
      if (!isCupsError(e)) throw e;
      return failed(`CUPS Protocol error: ${e.message}`, raw.status, rawResponse);
    }
    const applied = await applyConfig(home, response, log);
    const result: ExchangeResult = { status: 200, ok: true, request, rawResponse, response, applied, nothingToChange };
    if (response.update === null) {
      log(`Interaction with CUPS done${applied.length === 0 ? ' (no updates)' : ''}`);
      return result;
    }
    const update = await installUpdate({ home, update: response.update, signature: response.signature, keyCrc: response.keyCrc, wait: waitForUpdate, log });
    if (update.ran) applied.push('update');
    return { ...result, update };
  }

  async function run(runOptions: RunOptions): Promise<ExchangeResult[]> {
    const { once, maxExchanges, intervalMs, signal } = runOptions;
    const timeScale = runOptions.timeScale ?? 1;
    if (!(Number.isFinite(timeScale) && timeScale > 0)) {
      throw invalid('simulator_bad_time_scale', `timeScale must be a positive number, got ${timeScale}`, { field: 'timeScale' });
    }
    if (!once && maxExchanges === undefined && signal === undefined) {
      throw invalid('simulator_unbounded_run', 'run() needs a bound: pass once, maxExchanges or an AbortSignal', { field: 'maxExchanges' });
    }
    if (maxExchanges !== undefined && !(Number.isInteger(maxExchanges) && maxExchanges >= 1)) {
      throw invalid('simulator_bad_max_exchanges', `maxExchanges must be a whole number of at least 1, got ${maxExchanges}`, { field: 'maxExchanges' });
    }
    if (intervalMs !== undefined && !(Number.isFinite(intervalMs) && intervalMs >= 0)) {
      throw invalid('simulator_bad_interval', `intervalMs must be a number of milliseconds >= 0, got ${intervalMs}`, { field: 'intervalMs' });
    }
    const limit = once ? 1 : (maxExchanges ?? Infinity);
    const results: ExchangeResult[] = [];
    while (results.length < limit && !signal?.aborted) {
      const result = await exchange(signal ? { signal } : {});
      results.push(result);
      if (results.length >= limit || signal?.aborted) break;
      const wait = intervalMs ?? (await stationDelay(result, runOptions.tcOk === true, timeScale));
      log(`Next CUPS interaction in ${wait} ms`);
      if (!(await sleep(wait, signal))) break;
    }
    return results;
  }

  /** The station's own delay after `result` (schedule.ts), its TC connection tried as the station would. */
  async function stationDelay(result: ExchangeResult, tcOk: boolean, timeScale: number): Promise<number> {
    const tcUri = await readUri(home, 'tc');
    const cupsChanged = result.response !== undefined && (result.response.cupsUri !== null || result.response.cupsCred !== null);
    let tc: TcOutcome | undefined;
    if (result.ok && !cupsChanged && tcUri !== null) {
      tc = tcOk ? 'connected' : await probeTc(tcUri, Math.max(50, Math.min(5_000, 134_000 * timeScale)), eui, await readCredentialFiles(home, 'tc'));
      log(`TC ${tcUri}: ${tc}`);
    }
    return Math.round(nextExchangeDelay({ ok: result.ok, cupsChanged, hasTcUri: tcUri !== null, ...(tc === undefined ? {} : { tc }) }) * timeScale);
  }

  return { home, eui, exchange, run };
}

function rawOf(raw: RawExchangeResponse): RawExchangeResponse {
  return { headers: raw.headers, body: raw.body, chunked: raw.chunked };
}

/** Resolves false when aborted, so a stop request ends the loop instead of throwing. */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
    return true;
  } catch (e) {
    if ((e as Error).name === 'AbortError') return false;
    throw e;
  }
}

/** CFG_bdate format: `YYYY-MM-DD HH:MM:SS` (UTC here). */
function buildDate(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}
