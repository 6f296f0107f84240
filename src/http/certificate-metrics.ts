import type { Registry } from 'prom-client';
import { cachedGauges } from './cached-gauges.js';
import type { CertificateLifetimes } from '../operations/certificate-lifetimes.js';
import { EXPIRY_WINDOWS } from '../registry/certificates/expiry-types.js';

/**
 * Certificate lifetime gauges for Prometheus: when the server certificate and
 * the station CA expire, and how many stations' client certificates expire
 * within 7, 30 and 90 days (or have expired). One read per `ttlMs` however often
 * scraped; a failed read leaves the gauges empty rather than failing the scrape.
 * The alert rules in docs/prometheus/alerts.yml use these names.
 */
export function registerCertificateGauges(registry: Registry, read: () => Promise<CertificateLifetimes>, ttlMs = 5_000, now: () => number = Date.now): void {
  const gauge = cachedGauges<CertificateLifetimes>(registry, read, ttlMs, now);
  gauge('bscups_certificate_expiry_timestamp_seconds', 'when a certificate this server depends on expires, as a Unix time: server (the station listener) or station_ca', ['certificate'], (g, c) => {
    for (const [label, file] of [['server', c.server], ['station_ca', c.stationCa]] as const) {
      if (file?.notAfter != null) g.set({ certificate: label }, file.notAfter.getTime() / 1000);
    }
  });
  gauge('bscups_fleet_station_certificates', 'stations with an active CUPS client certificate', [], (g, c) => g.set(c.stations.stations));
  gauge('bscups_fleet_station_certificates_expired', 'stations whose CUPS client certificate has expired: they cannot reach CUPS with it', [], (g, c) => g.set(c.stations.expired));
  gauge('bscups_fleet_station_certificates_expiring', 'stations whose CUPS client certificate expires within 7d, 30d or 90d and has not yet (cumulative)', ['within'], (g, c) => {
    for (const w of EXPIRY_WINDOWS) g.set({ within: w }, c.stations.expiringWithin[w]);
  });
  gauge('bscups_fleet_station_certificates_next_expiry_timestamp_seconds', 'the earliest expiry of a station client certificate still ahead, as a Unix time', [], (g, c) => {
    if (c.stations.nextExpiry !== null) g.set(c.stations.nextExpiry.getTime() / 1000);
  });
}
