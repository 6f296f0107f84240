import { describe, expect, it } from 'vitest';
import { CupsError } from '../core/errors.js';
import { MAX_STATION_URI_LENGTH, validateCupsUri, validateTcUri } from './uri.js';

function uriError(fn: () => unknown): CupsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CupsError);
    return e as CupsError;
  }
  throw new Error('expected an invalid_uri error');
}

describe('[5.1] validateCupsUri', () => {
  it.each([
    'http://127.0.0.1:6090',
    'https://cups.example.com:443',
    'HTTPS://cups.example.com:443',
    'https://a:1',
    'https://cups.example.com.:65535',
    'http://[::1]:6090',
    'https://[2001:db8::1]:443',
    'https://my-host-1.example:8443',
  ])('accepts %s and returns it unchanged', (uri) => {
    expect(validateCupsUri(uri)).toBe(uri);
  });

  it.each<[string, RegExp]>([
    ['https://cups.example.com', /no port/],
    ['https://cups.example.com:443/', /ends with a slash/],
    ['https://cups.example.com/', /ends with a slash/],
    ['https://cups.example.com:443/update-info', /has a path/],
    ['https://cups.example.com:443?x=1', /query or fragment/],
    ['https://cups.example.com:443#frag', /query or fragment/],
    ['https://user:pw@cups.example.com:443', /user information/],
    ['https://cups.example.com:0', /invalid port "0"/],
    ['https://cups.example.com:65536', /invalid port "65536"/],
    ['https://cups.example.com:0443', /invalid port/],
    ['https://cups.example.com:-1', /invalid port/],
    ['https://cups.example.com:', /invalid port ""/],
    ['https://cups.example.com:44a', /invalid port/],
    ['https://:443', /no host/],
    ['https://-bad.example:443', /invalid host/],
    ['https://bad..example:443', /invalid host/],
    ['https://bad_host:443', /invalid host/],
    ['https://[::1:443', /IPv6/],
    ['https://[zz::1]:443', /IPv6/],
    ['https://::1:443', /more than one ":"/],
    ['wss://lns.example.com:443', /does not start with http:\/\/ or https:\/\//],
    ['ftp://cups.example.com:21', /does not start with/],
    ['cups.example.com:443', /does not start with/],
    ['https:/cups.example.com:443', /does not start with/],
    ['https://cups.exämple.com:443', /non-ASCII/],
    ['https://cups example.com:443', /spaces/],
    ['https://cups.example.com:443\n', /control/],
    ['', /does not start with/],
  ])('refuses %j (%s)', (uri, problem) => {
    const err = uriError(() => validateCupsUri(uri, 'desired.cupsUri'));
    expect(err.code).toBe('invalid_uri');
    expect(err.kind).toBe('invalid_argument');
    expect(err.details).toEqual({ field: 'desired.cupsUri' });
    expect(err.message).toContain('"desired.cupsUri"');
    expect(err.message).toMatch(problem);
    expect(err.message).toContain('https://cups.example.com:443');
  });

  it(`accepts exactly ${MAX_STATION_URI_LENGTH} characters and refuses one more`, () => {
    const prefix = 'https://';
    const suffix = ':443';
    const host = (n: number): string => Array.from({ length: Math.ceil(n / 10) }, () => 'abcdefghi.').join('').slice(0, n).replace(/\.$/, 'x');
    const ok = prefix + host(MAX_STATION_URI_LENGTH - prefix.length - suffix.length) + suffix;
    expect(ok).toHaveLength(127);
    expect(validateCupsUri(ok)).toBe(ok);
    const long = prefix + host(MAX_STATION_URI_LENGTH + 1 - prefix.length - suffix.length) + suffix;
    expect(long).toHaveLength(128);
    expect(uriError(() => validateCupsUri(long)).message).toMatch(/128 characters.*over 127/);
  });

  it('refuses a non-string with the field named', () => {
    const err = uriError(() => validateCupsUri(42 as unknown as string));
    expect(err.message).toContain('"cupsUri"');
  });
});

describe('[5.1] validateTcUri', () => {
  it.each(['ws://127.0.0.1:6092', 'wss://lns.example.com:8887', 'WSS://lns.example.com:443', 'wss://[::1]:6092'])('accepts %s', (uri) => {
    expect(validateTcUri(uri)).toBe(uri);
  });

  it.each<[string, RegExp]>([
    ['https://lns.example.com:443', /does not start with ws:\/\/ or wss:\/\//],
    ['wss://lns.example.com', /no port/],
    ['wss://lns.example.com:8887/', /ends with a slash/],
    ['wss://lns.example.com:8887/router-info', /has a path/],
  ])('refuses %j', (uri, problem) => {
    const err = uriError(() => validateTcUri(uri));
    expect(err.code).toBe('invalid_uri');
    expect(err.message).toContain('"tcUri"');
    expect(err.message).toMatch(problem);
    expect(err.message).toContain('wss://');
  });
});
