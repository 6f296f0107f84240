import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { CupsError } from '../src/core/errors.js';

function configError(run: () => unknown): CupsError {
  try {
    run();
  } catch (e) {
    if (e instanceof CupsError) return e;
    throw e;
  }
  throw new Error('expected loadConfig to refuse');
}

describe('TLS and authentication settings', () => {
  it('is strict by default and reads the flags over the environment', () => {
    expect(loadConfig({}, {})).toMatchObject({ allowUnauthenticated: false, tlsCert: undefined, tlsKey: undefined, clientCa: undefined });
    const env = { BSCUPS_TLS_CERT: 'env.pem', BSCUPS_TLS_KEY: 'env.key', BSCUPS_CLIENT_CA: 'ca.pem', BSCUPS_ALLOW_UNAUTHENTICATED: 'true' };
    expect(loadConfig({}, env)).toMatchObject({ tlsCert: 'env.pem', tlsKey: 'env.key', clientCa: 'ca.pem', allowUnauthenticated: true });
    expect(loadConfig({ tlsCert: 'flag.pem', allowUnauthenticated: false }, env)).toMatchObject({ tlsCert: 'flag.pem', allowUnauthenticated: false });
    expect(loadConfig({}, { BSCUPS_ALLOW_UNAUTHENTICATED: '0' }).allowUnauthenticated).toBe(false);
  });

  it('refuses half a TLS setup and unreadable switches, naming the setting', () => {
    expect(configError(() => loadConfig({ tlsCert: 'a.pem' }, {})).message).toContain('--tls-key');
    expect(configError(() => loadConfig({}, { BSCUPS_TLS_KEY: 'a.key' })).message).toContain('--tls-cert');
    expect(configError(() => loadConfig({ clientCa: 'ca.pem' }, {})).message).toContain('--client-ca');
    expect(configError(() => loadConfig({}, { BSCUPS_ALLOW_UNAUTHENTICATED: 'perhaps' })).message).toContain('BSCUPS_ALLOW_UNAUTHENTICATED');
  });
});
