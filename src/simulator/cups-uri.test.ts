import { describe, expect, it } from 'vitest';
import { isCupsError } from '../core/errors.js';
import { parseCupsUri } from './cups-uri.js';
import { nextExchangeDelay } from './schedule.js';

describe('parseCupsUri', () => {
  it('takes http and https URIs with a port, as the station does', () => {
    expect(parseCupsUri('http://127.0.0.1:6090')).toEqual({ tls: false, host: '127.0.0.1', port: 6090, hostPort: '127.0.0.1:6090', servername: undefined });
    expect(parseCupsUri('HTTPS://cups.example.com:443')).toEqual({
      tls: true,
      host: 'cups.example.com',
      port: 443,
      hostPort: 'cups.example.com:443',
      servername: 'cups.example.com',
    });
    expect(parseCupsUri('https://[::1]:7000')).toMatchObject({ host: '::1', hostPort: '[::1]:7000', servername: undefined });
  });

  it.each([
    ['http://127.0.0.1:6090/', 'no path'],
    ['http://127.0.0.1', 'port mandatory'],
    ['http://127.0.0.1:', 'port mandatory'],
    ['ws://127.0.0.1:6090', 'expecting http'],
    ['http://:6090', 'host is empty'],
    ['http://h:99999', 'port'],
  ])('refuses %s', (uri, why) => {
    let error: unknown;
    try {
      parseCupsUri(uri);
    } catch (e) {
      error = e;
    }
    expect(isCupsError(error)).toBe(true);
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).toContain('cups.uri');
  });
});

describe('nextExchangeDelay', () => {
  it.each([
    [{ ok: true, cupsChanged: false, hasTcUri: true }, 86_400_000],
    [{ ok: false, cupsChanged: false, hasTcUri: true }, 60_000],
    [{ ok: true, cupsChanged: true, hasTcUri: true }, 60_000],
    [{ ok: true, cupsChanged: false, hasTcUri: false }, 60_000],
  ])('%o → %d ms', (input, ms) => {
    expect(nextExchangeDelay(input)).toBe(ms);
  });
});
