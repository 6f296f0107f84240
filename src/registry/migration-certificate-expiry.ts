import type { Kysely } from 'kysely';

/**
 * 0011_certificate_expiry: the fleet's certificate lifetimes are read by expiry
 * (`station list --cert-expiring`, the summary and its gauges, the renewal pass
 * of `serve --renew-station-certs-before`), always over active CUPS
 * certificates: this index serves those reads as a range, and each station's
 * certificates stay reachable by the primary key (eui, fingerprint).
 */
export async function certificateExpiryIndex(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('station_certificates_expiry')
    .on('station_certificates')
    .columns(['category', 'status', 'not_after'])
    .execute();
}
