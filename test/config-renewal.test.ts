import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const tls = { tlsCert: 'server.pem', tlsKey: 'server.key', clientCa: 'ca.pem' };

describe('serve --renew-station-certs-before and --max-offers-per-minute', () => {
  it('are off and 60 by default, and read from flags or env', () => {
    expect(loadConfig({}, {})).toMatchObject({ renewStationCertsBefore: undefined, maxOffersPerMinute: 60 });
    expect(loadConfig({ ...tls, renewStationCertsBefore: '30d', maxOffersPerMinute: '5' }, {})).toMatchObject({ renewStationCertsBefore: '30d', maxOffersPerMinute: 5 });
    expect(loadConfig(tls, { BSCUPS_RENEW_STATION_CERTS_BEFORE: '2w', BSCUPS_MAX_OFFERS_PER_MINUTE: '7' })).toMatchObject({ renewStationCertsBefore: '2w', maxOffersPerMinute: 7 });
  });

  it('refuse a duration that is not one, a pace below one, and renewal without mutual TLS', () => {
    expect(() => loadConfig({ ...tls, renewStationCertsBefore: 'soon' }, {})).toThrow('--renew-station-certs-before is "soon": expected a number followed by s, m, h, d or w, e.g. 30d');
    expect(() => loadConfig({ maxOffersPerMinute: 0 }, {})).toThrow('--max-offers-per-minute is 0: expected a whole number from 1 to 100000');
    expect(() => loadConfig({ renewStationCertsBefore: '30d' }, {})).toThrow('--renew-station-certs-before renews the certificates of mtls stations, which needs mutual TLS: give --client-ca');
  });
});
