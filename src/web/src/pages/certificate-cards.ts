import { h, relativeTime, type Child } from '../dom.js';

/** The summary's `certificates` (GET /fleet/summary): when the fleet's certificates expire. */
export interface CertificateLifetimes {
  stations: { stations: number; expired: number; expiringWithin: Record<'7d' | '30d' | '90d', number>; nextExpiry: string | null };
  server: CertificateFile | null;
  stationCa: CertificateFile | null;
}

interface CertificateFile {
  file: string;
  notAfter: string | null;
  error: string | null;
}

const DAY = 86_400_000;
/** Within this, a certificate's card is marked. */
const WARN_DAYS = 30;

/**
 * Cards for the overview: stations whose client certificate has expired or
 * expires within 30 days (marked when any), then the server certificate and the
 * station CA, marked when 30 days or less are left.
 */
export function certificateCards(c: CertificateLifetimes | undefined, now = Date.now()): Child[] {
  if (c === undefined) return [];
  const { stations } = c;
  const card = (alert: boolean, n: Child, label: Child, attrs: Record<string, string> = {}) =>
    h('div', { class: `card count${alert ? ' alert' : ''}`, ...attrs }, h('span', { class: 'n' }, n), h('span', null, label));
  const file = (name: string, f: CertificateFile | null, key: string) => {
    if (f === null) return null;
    if (f.notAfter === null) return card(true, '?', `${name}: ${f.error ?? 'unreadable'}`, { 'data-cert': key });
    const days = Math.floor((Date.parse(f.notAfter) - now) / DAY);
    return card(days <= WARN_DAYS, days < 0 ? 'expired' : `${days} d`, `${name} expires ${relativeTime(f.notAfter, now)}`, { 'data-cert': key, title: f.notAfter });
  };
  return [
    card(stations.expired > 0, stations.expired, 'Station certificates expired', { 'data-cert': 'expired' }),
    card(stations.expiringWithin['30d'] > 0, stations.expiringWithin['30d'], 'Station certificates expiring within 30 days', { 'data-cert': 'within-30d' }),
    file('Server certificate', c.server, 'server'),
    file('Station CA', c.stationCa, 'station-ca'),
  ];
}
