import { describe, expect, it } from 'vitest';
import { FD_RESERVE, FDS_PER_CONNECTION, fitConnectionCaps } from './file-budget.js';

const defaults = { station: 4096, admin: 256, stationGiven: false, adminGiven: false };

describe('fitting the connection caps into the open-file limit', () => {
  it('keeps caps that fit, and leaves them alone when the limit is unknown', () => {
    expect(fitConnectionCaps(defaults, 1_048_576)).toEqual({ station: 4096, admin: 256, lowered: [] });
    expect(fitConnectionCaps({ ...defaults, station: 999_999, stationGiven: true }, undefined)).toMatchObject({ station: 999_999, lowered: [] });
  });

  it('lowers default caps to fit, the admin one to at most an eighth, so neither listener can use up the files', () => {
    const limit = 1024;
    const fitted = fitConnectionCaps(defaults, limit);
    const room = Math.floor((limit - FD_RESERVE) / FDS_PER_CONNECTION);
    expect(fitted.admin).toBe(Math.floor(room / 8));
    expect(fitted.station).toBe(room - fitted.admin);
    expect(FDS_PER_CONNECTION * (fitted.station + fitted.admin) + FD_RESERVE).toBeLessThanOrEqual(limit);
    expect(fitted.lowered).toHaveLength(2);
  });

  it('refuses a cap given by flag or env that does not fit, naming the flag, the limit and how to raise it', () => {
    expect(() => fitConnectionCaps({ ...defaults, admin: 5000, adminGiven: true }, 4096)).toThrow(/--admin-max-connections.*5000.*open-file limit of 4096.*ulimit -n/);
    expect(() => fitConnectionCaps({ ...defaults, station: 4096, stationGiven: true }, 4096)).toThrow(/--max-connections \(env BSCUPS_MAX_CONNECTIONS\) is 4096/);
    expect(() => fitConnectionCaps(defaults, 100)).toThrow(/open-file limit is 100: too low/);
  });
});
