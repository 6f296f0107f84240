import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { runCli } from './support/cli.js';

describe('a bad setting names where it came from and what it takes', () => {
  it('serve --port abc names the flag, the value and the expected type', async () => {
    const r = await runCli(['serve', '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port is "abc": expected a whole number from 0 to 65535');
    expect(r.stderr).not.toContain('NaN');
  });

  it('names the environment variable when the value came from there', () => {
    expect(() => loadConfig({}, { BSCUPS_PORT: '1.5' })).toThrow('BSCUPS_PORT is "1.5": expected a whole number from 0 to 65535');
    expect(() => loadConfig({ logLevel: 'loud' }, {})).toThrow('--log-level is "loud": expected one of fatal, error, warn, info, debug, trace, silent');
    expect(() => loadConfig({}, { BSCUPS_ALLOW_UNAUTHENTICATED: 'maybe' })).toThrow('BSCUPS_ALLOW_UNAUTHENTICATED is "maybe": expected true or false');
  });
});
