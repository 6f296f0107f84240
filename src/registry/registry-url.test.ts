import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CupsError } from '../core/errors.js';
import { parseRegistryUrl } from './registry-url.js';

function rejection(url: string): CupsError {
  try {
    parseRegistryUrl(url);
  } catch (e) {
    expect(e).toBeInstanceOf(CupsError);
    expect(e).toMatchObject({ kind: 'invalid_argument', code: 'invalid_registry_url' });
    return e as CupsError;
  }
  throw new Error(`expected ${url} to be rejected`);
}

describe('parseRegistryUrl', () => {
  it.each([
    ['postgres://u:pw@db.example:5433/cups', 'postgres://u:pw@db.example:5433/cups', null, 5_000],
    ['postgresql://u@db/cups?schema=fleet_1', 'postgresql://u@db/cups', 'fleet_1', 5_000],
    ['postgres://u@db/cups?sslmode=require&connect_timeout=1.5&schema=_x', 'postgres://u@db/cups?sslmode=require', '_x', 1_500],
  ])('reads %s', (url, connectionString, schema, timeout) => {
    expect(parseRegistryUrl(url)).toMatchObject({ kind: 'postgres', connectionString, schema, connectTimeoutMillis: timeout });
  });

  it('keeps the password out of the display form', () => {
    const location = parseRegistryUrl('postgres://u:hunter2@db/cups?schema=s');
    expect(location.display).toBe('postgres://u:***@db/cups (schema s)');
  });

  it.each([
    [':memory:', ':memory:'],
    ['sqlite::memory:', ':memory:'],
    ['sqlite:/var/lib/cups/registry.db', '/var/lib/cups/registry.db'],
    ['sqlite:///var/lib/cups/registry.db', '/var/lib/cups/registry.db'],
    ['sqlite:data/registry.db', resolve('data/registry.db')],
    ['sqlite://data/registry.db', resolve('data/registry.db')],
    ['file:data/registry.db', resolve('data/registry.db')],
    ['file:///var/lib/cups/registry%20x.db', '/var/lib/cups/registry x.db'],
    ['/var/lib/cups/registry.db', '/var/lib/cups/registry.db'],
    ['./registry.db', resolve('registry.db')],
  ])('reads the SQLite location %s', (url, path) => {
    expect(parseRegistryUrl(url)).toMatchObject({ kind: 'sqlite', path });
  });

  it('names the accepted forms when the scheme is unknown', () => {
    const e = rejection('mysql://root@db/cups');
    expect(e.message).toContain('"mysql:"');
    expect(e.message).toContain('postgres://');
    expect(e.message).toContain('sqlite:PATH');
    expect(e.message).toContain(':memory:');
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['sqlite:', /path is empty/],
    ['postgres://u@db/cups?schema=Fleet', /schema "Fleet"/],
    ['postgres://u@db/cups?schema=a;drop', /schema/],
    ['postgres://u@db/cups?connect_timeout=soon', /connect_timeout/],
    ['postgres://u@db/cups?connect_timeout=0', /connect_timeout/],
    ['postgres:///cups', /no host/],
  ])('rejects %j', (url, reason) => {
    expect(rejection(url).message).toMatch(reason);
  });

  it('does not echo a password from a rejected URL', () => {
    expect(rejection('postgres://u:hunter2@db/cups?schema=BAD').message).not.toContain('hunter2');
  });
});
