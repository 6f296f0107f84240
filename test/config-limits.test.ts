import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { limitsFromConfig } from '../src/http/connection-limits.js';

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
