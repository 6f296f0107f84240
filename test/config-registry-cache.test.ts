import { describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { loadConfig } from '../src/config.js';

describe('registry cache configuration', () => {
  it('is on with a one-second last-seen interval by default', () => {
    const config = loadConfig({}, {});
    expect(config.registryCache).toBe(true);
    expect(config.lastSeenInterval).toBe(1);
  });

  it('takes on/off and seconds from flags over env', () => {
    expect(loadConfig({}, { BSCUPS_REGISTRY_CACHE: 'off', BSCUPS_LAST_SEEN_INTERVAL: '0.25' })).toMatchObject({ registryCache: false, lastSeenInterval: 0.25 });
    expect(loadConfig({ registryCache: 'on', lastSeenInterval: '0' }, { BSCUPS_REGISTRY_CACHE: 'off' })).toMatchObject({ registryCache: true, lastSeenInterval: 0 });
  });

  it('refuses an interval a crash could lose a long stretch of stamps to, naming the source', () => {
    expect(() => loadConfig({ lastSeenInterval: '120' }, {})).toThrow(CupsError);
    expect(() => loadConfig({}, { BSCUPS_LAST_SEEN_INTERVAL: '-1' })).toThrow(/BSCUPS_LAST_SEEN_INTERVAL/);
  });
});
