import { describe, expect, it } from 'vitest';
import { CupsError } from '../core/errors.js';
import { crc32 } from './crc32.js';
import { encodeStationHttpRequest, encodeStationRequestBody, parseUpdateInfoRequest, stationKeyCrcs, UPDATE_INFO_PATH } from './request.js';
import type { UpdateInfoRequest } from './types.js';
import { PROTOCOL_EXAMPLE } from '../../test/support/fixtures.js';

// The example body of PROTOCOL.md section 1, on one line as the station sends it.
const EXAMPLE_JSON =
  '{"router":"16:c001:ff10:a235","cupsUri":"http://127.0.0.1:6090","tcUri":null,' +
  '"cupsCredCrc":2077607535,"tcCredCrc":2077607535,' +
  '"station":"2.0.6(linux/testsim) 2026-11-24 10:58:03","model":"linux",' +
  '"package":"1.0.0","keys":[3157685580]}';

const EXAMPLE: UpdateInfoRequest = PROTOCOL_EXAMPLE;

function exampleObject(): Record<string, unknown> {
  return JSON.parse(EXAMPLE_JSON) as Record<string, unknown>;
}

describe('[1.4] parseUpdateInfoRequest', () => {
  it('parses the example body from an object, a string and bytes', () => {
    expect(parseUpdateInfoRequest(exampleObject())).toEqual(EXAMPLE);
    expect(parseUpdateInfoRequest(EXAMPLE_JSON)).toEqual(EXAMPLE);
    expect(parseUpdateInfoRequest(Buffer.from(EXAMPLE_JSON))).toEqual(EXAMPLE);
  });

  it.each<[unknown, string]>([
    ['16:c001:ff10:a235', 'ID6'],
    ['0016c001ff10a235', 'hex'],
    ['00-16-C0-01-FF-10-A2-35', 'dashes'],
    ['00:16:c0:01:ff:10:a2:35', 'colons'],
    [Number(0x0016c001ff10a235n), 'JSON integer'],
  ])('accepts router %j (%s)', (router) => {
    expect(parseUpdateInfoRequest({ ...exampleObject(), router }).router).toBe('0016C001FF10A235');
  });

  it('ignores unknown extra fields', () => {
    expect(parseUpdateInfoRequest({ ...exampleObject(), os: 'linux', extra: { x: 1 } })).toEqual(EXAMPLE);
  });

  it('trims package and the trailing whitespace of URIs, keeps nulls', () => {
    const req = parseUpdateInfoRequest({ ...exampleObject(), package: '  1.0.1\n', cupsUri: 'http://h:1 \n', tcUri: 'ws://h:2', keys: [] });
    expect(req.package).toBe('1.0.1');
    expect(req.cupsUri).toBe('http://h:1');
    expect(req.tcUri).toBe('ws://h:2');
    expect(req.keys).toEqual([]);
    const nulls = parseUpdateInfoRequest({ ...exampleObject(), cupsUri: null, package: null });
    expect(nulls.cupsUri).toBeNull();
    expect(nulls.package).toBeNull();
  });

  it('accepts u32 boundaries 0 and 4294967295', () => {
    const req = parseUpdateInfoRequest({ ...exampleObject(), cupsCredCrc: 0, tcCredCrc: 4294967295, keys: [0, 4294967295] });
    expect(req.cupsCredCrc).toBe(0);
    expect(req.tcCredCrc).toBe(4294967295);
    expect(req.keys).toEqual([0, 4294967295]);
  });

  const long = (n: number): string => 'x'.repeat(n);
  const MALFORMED: readonly [string, Record<string, unknown> | unknown, string, RegExp][] = [
    ['router wrong type', { router: true }, 'router', /string or integer/],
    ['router bad id6', { router: '1:2::3' }, 'router', /not an EUI/],
    ['router unsafe number', { router: 2 ** 60 }, 'router', /precision/],
    ['router negative', { router: -5 }, 'router', /non-negative/],
    ['router null', { router: null }, 'router', /string or integer/],
    ['cupsUri number', { cupsUri: 5 }, 'cupsUri', /string or null/],
    ['cupsUri overlong', { cupsUri: `http://${long(250)}:1` }, 'cupsUri', /at most 255/],
    ['tcUri overlong', { tcUri: `ws://${long(300)}:1` }, 'tcUri', /at most 255/],
    ['tcUri object', { tcUri: {} }, 'tcUri', /string or null/],
    ['cupsCredCrc string', { cupsCredCrc: '2077607535' }, 'cupsCredCrc', /unsigned 32-bit integer/],
    ['cupsCredCrc negative', { cupsCredCrc: -1 }, 'cupsCredCrc', /unsigned 32-bit integer/],
    ['cupsCredCrc float', { cupsCredCrc: 1.5 }, 'cupsCredCrc', /unsigned 32-bit integer/],
    ['cupsCredCrc 2^32', { cupsCredCrc: 4294967296 }, 'cupsCredCrc', /unsigned 32-bit integer/],
    ['cupsCredCrc huge', { cupsCredCrc: 1e300 }, 'cupsCredCrc', /unsigned 32-bit integer/],
    ['cupsCredCrc null', { cupsCredCrc: null }, 'cupsCredCrc', /unsigned 32-bit integer/],
    ['tcCredCrc NaN', { tcCredCrc: Number.NaN }, 'tcCredCrc', /unsigned 32-bit integer/],
    ['tcCredCrc Infinity', { tcCredCrc: Number.POSITIVE_INFINITY }, 'tcCredCrc', /unsigned 32-bit integer/],
    ['station null', { station: null }, 'station', /must be a string/],
    ['station overlong', { station: long(256) }, 'station', /at most 255/],
    ['model number', { model: 1 }, 'model', /must be a string/],
    ['model overlong', { model: long(1000) }, 'model', /at most 255/],
    ['package number', { package: 100 }, 'package', /string or null/],
    ['package overlong', { package: long(256) }, 'package', /at most 255/],
    ['keys not array', { keys: 3157685580 }, 'keys', /must be an array/],
    ['keys null', { keys: null }, 'keys', /must be an array/],
    ['keys item string', { keys: ['3157685580'] }, 'keys', /"keys" item 0 must be an unsigned 32-bit integer/],
    ['keys item negative', { keys: [1, -1] }, 'keys', /"keys" item 1/],
    ['keys item float', { keys: [0.5] }, 'keys', /"keys" item 0/],
    ['keys item huge', { keys: [2 ** 40] }, 'keys', /"keys" item 0/],
    ['keys too many', { keys: Array.from({ length: 33 }, (_, i) => i) }, 'keys', /at most 32/],
  ];

  it.each(MALFORMED)('%s -> CupsError naming the field', (_name, patch, field, text) => {
    try {
      parseUpdateInfoRequest({ ...exampleObject(), ...(patch as object) });
    } catch (e) {
      expect(e).toBeInstanceOf(CupsError);
      const err = e as CupsError;
      expect(err.code).toBe('invalid_request');
      expect(err.kind).toBe('invalid_argument');
      expect(err.message).toContain(`"${field}"`);
      expect(err.message).toMatch(text);
      expect(err.details?.field).toBe(field);
      return;
    }
    throw new Error('expected invalid_request');
  });

  it.each(['router', 'cupsUri', 'tcUri', 'cupsCredCrc', 'tcCredCrc', 'station', 'model', 'package', 'keys'])('missing %s is refused', (field) => {
    const body = exampleObject();
    delete body[field];
    expect(() => parseUpdateInfoRequest(body)).toThrow(new RegExp(`"${field}" is missing`));
  });

  it('an inherited property does not count as present', () => {
    const body = Object.create({ keys: [] }) as Record<string, unknown>;
    Object.assign(body, exampleObject());
    delete body.keys;
    expect(() => parseUpdateInfoRequest(body)).toThrow(/"keys" is missing/);
  });

  it.each<[unknown, RegExp]>([
    [null, /JSON object/],
    [[], /JSON object/],
    [42, /JSON object/],
    [undefined, /JSON object/],
    ['{"router":', /not valid JSON/],
    ['[1,2]', /JSON object/],
    [Buffer.from([0xff, 0xfe]), /not valid JSON/],
  ])('refuses body %o', (body, text) => {
    expect(() => parseUpdateInfoRequest(body)).toThrow(text);
    try {
      parseUpdateInfoRequest(body);
    } catch (e) {
      expect((e as CupsError).details).toEqual({ field: 'body' });
    }
  });
});

describe('[1.4] encodeStationRequestBody', () => {
  it('reproduces the example body byte for byte (fields in section 1 order, router as ID6)', () => {
    expect(encodeStationRequestBody(EXAMPLE)).toBe(EXAMPLE_JSON);
    expect(Buffer.byteLength(encodeStationRequestBody(EXAMPLE))).toBe(232);
  });

  it('writes nulls, empty key lists and several keys the way the station does', () => {
    const body = encodeStationRequestBody({ ...EXAMPLE, router: '0000000000000001', cupsUri: null, package: null, keys: [] });
    expect(body).toBe(
      '{"router":"::1","cupsUri":null,"tcUri":null,"cupsCredCrc":2077607535,"tcCredCrc":2077607535,' +
        '"station":"2.0.6(linux/testsim) 2026-11-24 10:58:03","model":"linux","package":null,"keys":[]}',
    );
    expect(encodeStationRequestBody({ ...EXAMPLE, keys: [1, 4294967295] })).toContain('"keys":[1,4294967295]}');
  });

  it('round-trips through parseUpdateInfoRequest', () => {
    const req: UpdateInfoRequest = { ...EXAMPLE, router: 'B827EBFFFE000001', tcUri: 'wss://lns:8887', keys: [1, 2, 3] };
    expect(parseUpdateInfoRequest(encodeStationRequestBody(req))).toEqual(req);
  });
});

describe('[1.1] [1.2] [1.3] encodeStationHttpRequest', () => {
  it('produces the exact raw request of section 1', () => {
    const raw = encodeStationHttpRequest({ host: '127.0.0.1:6097', body: EXAMPLE_JSON });
    const expected =
      'POST /update-info HTTP/1.1\r\n' +
      'Host: 127.0.0.1:6097\r\n' +
      'Content-Type: application/json\r\n' +
      'Content-Length:   232\r\n' +
      '\r\n' +
      EXAMPLE_JSON;
    expect(raw.toString('latin1')).toBe(expected);
    expect(raw.toString('latin1')).toContain('Content-Length:   232\r\n');
  });

  it('has only Host, Content-Type and Content-Length (no User-Agent, no Connection)', () => {
    const head = encodeStationHttpRequest({ host: 'h:1', body: '{}' }).toString('latin1').split('\r\n\r\n')[0] as string;
    const names = head.split('\r\n').slice(1).map((l) => l.split(':')[0]);
    expect(names).toEqual(['Host', 'Content-Type', 'Content-Length']);
    expect(head.split('\r\n')[0]).toBe(`POST ${UPDATE_INFO_PATH} HTTP/1.1`);
    expect(UPDATE_INFO_PATH).toBe('/update-info');
  });

  it.each([
    [0, 'Content-Length:     0\r\n'],
    [9, 'Content-Length:     9\r\n'],
    [12345, 'Content-Length: 12345\r\n'],
    [99999, 'Content-Length: 99999\r\n'],
  ])('right-aligns a length of %i in five characters', (n, line) => {
    expect(encodeStationHttpRequest({ host: 'h:1', body: 'x'.repeat(n) }).toString('latin1')).toContain(line);
  });

  it('counts bytes, not characters, for non-ASCII bodies', () => {
    const raw = encodeStationHttpRequest({ host: 'h:1', body: '{"model":"é"}' }).toString('utf8');
    expect(raw).toContain('Content-Length:    14\r\n');
  });

  it('refuses a body that does not fit five digits', () => {
    expect(() => encodeStationHttpRequest({ host: 'h:1', body: 'x'.repeat(100_000) })).toThrow(CupsError);
  });

  it('inserts token header lines verbatim before the blank line, normalised to CRLF', () => {
    const raw = encodeStationHttpRequest({ host: 'h:1', body: '{}', headerLines: 'Authorization: Bearer cupstok456\nX-Extra: 1' }).toString('latin1');
    expect(raw).toBe(
      'POST /update-info HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length:     2\r\n' +
        'Authorization: Bearer cupstok456\r\nX-Extra: 1\r\n\r\n{}',
    );
    const crlf = encodeStationHttpRequest({ host: 'h:1', body: '{}', headerLines: 'Authorization: Bearer cupstok456\r\n' }).toString('latin1');
    expect(crlf).toContain('Content-Length:     2\r\nAuthorization: Bearer cupstok456\r\n\r\n{}');
  });
});

describe('[1.4] stationKeyCrcs', () => {
  const k0 = Buffer.alloc(64, 1);
  const k1 = Buffer.alloc(64, 2);
  it('lists CRCs of sig-0.key, sig-1.key, ... in order', () => {
    expect(stationKeyCrcs([k0, k1])).toEqual([crc32(k0), crc32(k1)]);
  });
  it('stops at the first missing index (only sig-1.key present gives [])', () => {
    expect(stationKeyCrcs([null, k1])).toEqual([]);
    expect(stationKeyCrcs([k0, undefined, k1])).toEqual([crc32(k0)]);
  });
  it('stops at an empty file, whose CRC is 0', () => {
    expect(stationKeyCrcs([k0, new Uint8Array(0), k1])).toEqual([crc32(k0)]);
  });
});
