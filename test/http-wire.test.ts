import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStationHttpRequest, NOTHING_TO_CHANGE } from '../src/protocol/index.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';

const EUI = '0016C001FF10A235';
const BODY =
  '{"router":"16:c001:ff10:a235","cupsUri":"http://127.0.0.1:6090","tcUri":null,' +
  '"cupsCredCrc":2077607535,"tcCredCrc":2077607535,' +
  '"station":"2.0.6(linux/testsim) 2026-11-24 10:58:03","model":"linux",' +
  '"package":"1.0.0","keys":[3157685580]}';

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer();
  await srv.runtime.registry.createStation({ eui: EUI, desired: { cupsUri: 'http://127.0.0.1:6090' } });
});
afterAll(async () => srv.stop());

function stationRequest(body: string, headerLines?: string): Buffer {
  return encodeStationHttpRequest({ host: `127.0.0.1:${srv.port}`, body, ...(headerLines ? { headerLines } : {}) });
}

describe('the wire as a station sees it', () => {
  it('answers an up-to-date station with exactly 14 zero bytes, Content-Length set, never chunked', async () => {
    const r = await rawExchange(srv.port, stationRequest(BODY));
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('14');
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.body).toEqual(NOTHING_TO_CHANGE);
    expect(r.body.equals(Buffer.alloc(14))).toBe(true);
  });

  it('accepts the padded Content-Length the station writes', async () => {
    const req = stationRequest(BODY).toString('latin1');
    expect(req).toMatch(/\r\nContent-Length: {2,}\d+\r\n/);
    const r = await rawExchange(srv.port, req);
    expect(r.status).toBe(200);
  });

  it('serves /update-info at the root path only: other paths are 404', async () => {
    const req = stationRequest(BODY).toString('latin1').replace('POST /update-info', 'POST /api/update-info');
    const r = await rawExchange(srv.port, req);
    expect(r.status).toBe(404);
  });

  it('sends a changed URI with a Content-Length matching the body', async () => {
    await srv.runtime.registry.updateStation(EUI, { desired: { tcUri: 'ws://127.0.0.1:6092' } });
    const r = await rawExchange(srv.port, stationRequest(BODY));
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(r.headers['transfer-encoding']).toBeUndefined();
    expect(r.body.toString('hex')).toBe('00' + '13' + Buffer.from('ws://127.0.0.1:6092').toString('hex') + '0000' + '0000' + '00000000' + '00000000');
    await srv.runtime.registry.updateStation(EUI, { desired: { tcUri: null } });
  });
});

describe('malformed requests', () => {
  const bad: [string, string][] = [
    ['not JSON', '{"router":'],
    ['empty object', '{}'],
    ['router wrong type', BODY.replace('"16:c001:ff10:a235"', 'true')],
    ['CRC negative', BODY.replace('"cupsCredCrc":2077607535', '"cupsCredCrc":-1')],
    ['CRC too large', BODY.replace('"tcCredCrc":2077607535', '"tcCredCrc":4294967296')],
    ['keys not an array', BODY.replace('"keys":[3157685580]', '"keys":"x"')],
    ['package a number', BODY.replace('"package":"1.0.0"', '"package":1')],
    ['overlong URI', BODY.replace('"http://127.0.0.1:6090"', JSON.stringify(`http://${'a'.repeat(400)}:1`))],
    ['JSON array', '[1,2,3]'],
    ['JSON null', 'null'],
    ['huge body', JSON.stringify({ pad: 'x'.repeat(20000) })],
  ];

  it.each(bad)('%s → 4xx with a reason, state unchanged', async (_name, body) => {
    const before = await snapshot();
    const r = await rawExchange(srv.port, stationRequest(body));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.body.toString().length).toBeGreaterThan(0);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(await snapshot()).toEqual(before);
  });

  it('names the offending field', async () => {
    const r = await rawExchange(srv.port, stationRequest(BODY.replace('"cupsCredCrc":2077607535', '"cupsCredCrc":"x"')));
    expect(r.status).toBe(400);
    expect(r.body.toString()).toContain('cupsCredCrc');
  });

  it('survives garbage bytes and a half-sent request, and still serves afterwards', async () => {
    await rawExchange(srv.port, Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10])).catch(() => undefined);
    const r = await rawExchange(srv.port, stationRequest(BODY));
    expect(r.status).toBe(200);
  });
});

async function snapshot(): Promise<unknown> {
  const reg = srv.runtime.registry;
  const stations = await reg.listStations();
  return {
    stations: stations.map((s) => ({ ...s, lastSeenAt: null })),
    unknown: await reg.listUnknown(),
    events: await reg.listEvents(EUI, { limit: 1000 }),
  };
}
