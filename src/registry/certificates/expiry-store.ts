import { sql, type Kysely } from 'kysely';
import type { RegistryDatabase } from '../db-schema.js';
import { millis, num } from '../row-mapping.js';
import { EXPIRY_WINDOWS, type ExpiringStation, type ExpiryWindow, type StationCertificateSummary } from './expiry-types.js';

type Db = Kysely<RegistryDatabase>;

const DAY_MS = 86_400_000;
const WINDOW_MS: Readonly<Record<ExpiryWindow, number>> = { '7d': 7 * DAY_MS, '30d': 30 * DAY_MS, '90d': 90 * DAY_MS };

/** Each station's earliest active CUPS certificate expiry (index station_certificates_expiry). */
const perStation = sql`select c.eui as eui, min(c.not_after) as expiry from station_certificates c
  where c.category = 'cups' and c.status = 'active' and c.not_after is not null group by c.eui`;

/** One aggregate over the active CUPS certificates; never reads the station rows. */
export async function summarizeStationCertificates(db: Db, now: Date): Promise<StationCertificateSummary> {
  const at = millis(now);
  const within = EXPIRY_WINDOWS.map((w) => sql`sum(case when t.expiry >= ${at} and t.expiry < ${at + WINDOW_MS[w]} then 1 else 0 end)`.as(`w${w}`));
  const { rows } = await sql<Record<string, number | string | null>>`select count(*) as stations,
      sum(case when t.expiry < ${at} then 1 else 0 end) as expired,
      min(case when t.expiry >= ${at} then t.expiry end) as next,
      ${sql.join(within)}
    from (${perStation}) t`.execute(db);
  const row = rows[0] ?? {};
  const count = (v: number | string | null | undefined): number => (v === null || v === undefined ? 0 : num(v));
  return {
    stations: count(row['stations']),
    expired: count(row['expired']),
    expiringWithin: Object.fromEntries(EXPIRY_WINDOWS.map((w) => [w, count(row[`w${w}`])])) as Record<ExpiryWindow, number>,
    nextExpiry: row['next'] === null || row['next'] === undefined ? null : new Date(num(row['next'])),
  };
}

/** The condition of `station list --cert-expiring`: an active CUPS certificate that expires before `before`. */
export function certExpiringCondition(before: Date) {
  return sql<boolean>`s.eui in (select c.eui from station_certificates c
    where c.category = 'cups' and c.status = 'active' and c.not_after is not null and c.not_after < ${millis(before)})`;
}

/**
 * Stations in mtls mode with no CUPS rotation pending whose active CUPS
 * certificate expires in [from, before), soonest first, at most `limit`: what a
 * renewal pass offers a new certificate to.
 */
export async function selectRenewalCandidates(db: Db, range: { readonly from: Date; readonly before: Date; readonly limit: number }): Promise<ExpiringStation[]> {
  const { rows } = await sql<{ eui: string; fingerprint: string; not_after: number | string }>`
    select c.eui as eui, c.fingerprint as fingerprint, c.not_after as not_after
    from station_certificates c join station_auth a on a.eui = c.eui
    where c.category = 'cups' and c.status = 'active' and c.not_after >= ${millis(range.from)} and c.not_after < ${millis(range.before)}
      and a.mode = 'mtls' and not exists (select 1 from station_rotations r where r.eui = c.eui and r.category = 'cups')
    order by c.not_after, c.eui limit ${range.limit}`.execute(db);
  const seen = new Set<string>();
  const out: ExpiringStation[] = [];
  for (const r of rows) {
    if (seen.has(r.eui)) continue;
    seen.add(r.eui);
    out.push({ eui: r.eui, fingerprint: r.fingerprint, notAfter: new Date(num(r.not_after)) });
  }
  return out;
}
