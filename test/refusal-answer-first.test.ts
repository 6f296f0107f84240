import { pino } from 'pino';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { LogLines } from './support/log-lines.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

const REGISTERED = '58A0CBFFFE820001';
const UNREGISTERED = '58A0CBFFFE8200FF';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

/** The registry with recordRefusal held at a gate the test opens; `written` resolves once a held write has gone through. */
function gatedRefusals(): { wrap: (r: StationRegistry) => StationRegistry; started: string[]; open: () => void; written: Promise<void> } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  const started: string[] = [];
  const wrap = (registry: StationRegistry): StationRegistry =>
    new Proxy(registry, {
      get(target, prop) {
        if (prop === 'recordRefusal') {
          return async (...args: Parameters<StationRegistry['recordRefusal']>) => {
            started.push(args[0]);
            await gate;
            const result = await target.recordRefusal(...args);
            wrote();
            return result;
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return { wrap, started, open, written };
}

function poll(port: number, eui: string): Buffer {
  return encodeStationHttpRequest({ host: `127.0.0.1:${port}`, body: encodeStationRequestBody(stationRequest(eui)) });
}

/** Rejects if `p` has not settled within `ms` (only the failing case waits that long). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

describe("a registered station's refusal", () => {
  it('is answered before its row is written, so it is no slower than an unregistered EUI', async () => {
    const gated = gatedRefusals();
    srv = await startTestServer({ allowUnauthenticated: false, wrapRegistry: gated.wrap });
    await srv.runtime.registry.createStation({ eui: REGISTERED });
    // The row's write is held shut: the answer must not wait for it.
    const answered = rawExchange(srv.port, poll(srv.port, REGISTERED));
    const answer = await within(answered, 5_000, 'the refusal answer, with its row write blocked,').catch((e: unknown) => {
      gated.open();
      throw e;
    });
    expect(answer.status).toBe(401);
    const stranger = await rawExchange(srv.port, poll(srv.port, UNREGISTERED));
    expect(`${stranger.status} ${stranger.body.toString()}`).toBe(`${answer.status} ${answer.body.toString()}`);
    // The row is still written, once the registry lets it.
    gated.open();
    await gated.written;
    expect(gated.started).toEqual([REGISTERED]);
    const rows = await srv.runtime.registry.listEvents(REGISTERED);
    expect(rows.find((e) => e.detail?.code === 'credentials_required')?.count).toBe(1);
  });
});

describe('the log during a flood of refusals', () => {
  it('writes one line per reason and source per interval, carrying the count, not one per refusal', async () => {
    const log = new LogLines();
    srv = await startTestServer({ allowUnauthenticated: false, logger: pino({ level: 'info' }, log), config: { refusalLogInterval: 600 } });
    await srv.runtime.registry.createStation({ eui: REGISTERED });
    const N = 400;
    const pool = new Pool(srv.url, { connections: 4, pipelining: 1 });
    const body = encodeStationRequestBody(stationRequest(REGISTERED));
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < N) {
            next++;
            const r = await pool.request({ path: '/update-info', method: 'POST', body, headers: { 'content-type': 'application/json' } });
            await r.body.dump();
            expect(r.statusCode).toBe(401);
          }
        }),
      );
    } finally {
      await pool.close();
    }
    const linesOf = (prefix: string) => log.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(prefix));
    // During the interval: the first refusal's lines only.
    expect(linesOf('update-info refused: authentication')).toHaveLength(1);
    expect(linesOf('request refused')).toHaveLength(1);
    // Stopping writes what was counted: one more line each, with the count of the rest.
    await srv.stop();
    srv = undefined;
    for (const prefix of ['update-info refused: authentication', 'request refused']) {
      const lines = linesOf(prefix);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatchObject({ code: 'credentials_required', remoteAddress: '127.0.0.1', refused: N - 1 });
    }
  });
});
