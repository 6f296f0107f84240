import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { adminLimitsFromConfig, limitsFromConfig } from '../src/http/connection-limits.js';

describe('deadlines, connection cap, retention and log format in the config', () => {
  it('has defaults a station fits in, and takes flags over BSCUPS_ env vars', () => {
    const defaults = loadConfig({}, {});
    expect(limitsFromConfig(defaults)).toEqual({ requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 60_000, maxConnections: 4096 });
    expect(defaults).toMatchObject({ eventMaxAgeDays: 90, eventsPerStation: 1000, refusalRowsPerStation: 100, logFormat: 'auto' });
    const env = { BSCUPS_REQUEST_TIMEOUT: '3', BSCUPS_MAX_CONNECTIONS: '50', BSCUPS_LOG_FORMAT: 'json', BSCUPS_EVENTS_PER_STATION: '20' };
    const fromEnv = loadConfig({}, env);
    expect(fromEnv).toMatchObject({ requestTimeout: 3, headersTimeout: 3, maxConnections: 50, logFormat: 'json', eventsPerStation: 20 });
    expect(loadConfig({ requestTimeout: '0.5', headersTimeout: '0.25' }, env)).toMatchObject({ requestTimeout: 0.5, headersTimeout: 0.25 });
  });

  it('names the flag or env var of a bad value', () => {
    expect(() => loadConfig({ maxConnections: 'lots' }, {})).toThrow(/--max-connections/);
    expect(() => loadConfig({}, { BSCUPS_IDLE_TIMEOUT: '-1' })).toThrow(/BSCUPS_IDLE_TIMEOUT/);
    expect(() => loadConfig({ logFormat: 'xml' }, {})).toThrow(/--log-format/);
  });

  it('refuses a headers deadline longer than the whole-request deadline', () => {
    expect(() => loadConfig({ headersTimeout: '20' }, {})).toThrow(/--headers-timeout.*cannot be longer.*default/);
  });
});

describe('the admin listener, drain and refusal-log settings in the config', () => {
  it('has defaults that close a silent admin client within 15 s, and takes BSCUPS_ env vars', () => {
    const defaults = loadConfig({}, {});
    expect(adminLimitsFromConfig(defaults)).toEqual({ requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 60_000, maxConnections: 256 });
    expect(defaults).toMatchObject({ maxConnectionsPerAddress: 0, drainTimeout: 10, refusalLogInterval: 10 });
    const env = { BSCUPS_ADMIN_MAX_CONNECTIONS: '32', BSCUPS_ADMIN_REQUEST_TIMEOUT: '2', BSCUPS_DRAIN_TIMEOUT: '0', BSCUPS_MAX_CONNECTIONS_PER_ADDRESS: '8', BSCUPS_REFUSAL_LOG_INTERVAL: '60' };
    expect(loadConfig({}, env)).toMatchObject({ adminMaxConnections: 32, adminRequestTimeout: 2, adminHeadersTimeout: 2, drainTimeout: 0, maxConnectionsPerAddress: 8, refusalLogInterval: 60 });
    expect(limitsFromConfig(loadConfig({}, env))).toMatchObject({ maxConnectionsPerAddress: 8 });
  });

  it('names the flag of a bad admin value, and refuses an admin headers deadline past its request deadline', () => {
    expect(() => loadConfig({ adminMaxConnections: '0' }, {})).toThrow(/--admin-max-connections/);
    expect(() => loadConfig({}, { BSCUPS_DRAIN_TIMEOUT: 'soon' })).toThrow(/BSCUPS_DRAIN_TIMEOUT/);
    expect(() => loadConfig({ adminHeadersTimeout: '20' }, {})).toThrow(/--admin-headers-timeout.*cannot be longer/);
  });
});
