import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { exampleRequest } from './support/fixtures.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';

const EUI = '0016C001FF10E5C0';
const CLEAR = '\x1b[2J\x1b[H';
// A model whose newline starts a line that looks like another station's row.
const FORGED_MODEL = 'rpi\n0016C001FFFFFFFF  -     linux  9.9.9  2026-01-01T00:00:00Z  in sync';
const STATION = `2.0.6${CLEAR}(rpi/std)`;
const PACKAGE = '1.0.0\u202e\u009b31m';

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer();
  await bscupsJson(['station', 'add', EUI], srv.env);
  const body = encodeStationRequestBody(exampleRequest({ router: EUI, station: STATION, model: FORGED_MODEL, package: PACKAGE }));
  const r = await rawExchange(srv.port, encodeStationHttpRequest({ host: `127.0.0.1:${srv.port}`, body }));
  expect(r.status).toBe(200);
});
afterAll(async () => srv.stop());

const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/;

describe('values a station reports reach the operator escaped, and raw in --json', () => {
  it('station list: one row per station, escapes visible, no control bytes', async () => {
    const r = await bscupsInProcess(['station', 'list'], srv.env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('rpi\\n0016C001FFFFFFFF');
    expect(lines[1]).toContain('1.0.0\\u202e\\x9b31m');
    expect(r.stdout).not.toMatch(/^0016C001FFFFFFFF/m);
  });

  it('station show: the side-by-side table escapes station, model and package', async () => {
    const r = await bscupsInProcess(['station', 'show', EUI], srv.env);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain('2.0.6\\x1b[2J\\x1b[H(rpi/std)');
    expect(r.stdout).toContain('rpi\\n0016C001FFFFFFFF');
    expect(r.stdout).not.toMatch(/^0016C001FFFFFFFF/m);
  });

  it('--json keeps the values exactly as reported', async () => {
    const list = await bscupsJson<{ reported: { station: string; model: string; package: string } }[]>(['station', 'list'], srv.env);
    expect(list[0]?.reported).toMatchObject({ station: STATION, model: FORGED_MODEL, package: PACKAGE });
    const show = await bscupsJson<{ reported: { model: string } }>(['station', 'show', EUI], srv.env);
    expect(show.reported.model).toBe(FORGED_MODEL);
  });
});
