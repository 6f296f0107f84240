import { sql, type Kysely } from 'kysely';
import { healthReason } from '../../core/health-reason.js';
import type { HealthState } from '../../core/health.js';
import type { RegistryDatabase } from '../db-schema.js';
import type { HealthTables } from '../health/health-rows.js';
import { toHealth } from '../health/health-rows.js';
import type { SqlFlavour } from '../migrations.js';
import { eventColumns, num } from '../row-mapping.js';
import { queueWebhookEvents } from './outbox.js';
import type { WebhookEvent } from './webhook-types.js';

/**
 * Notices are events read off the clock rather than written by an exchange: a
 * station that stopped calling, a certificate entering an expiry window. Each is
 * claimed by inserting its row (migration 0022_notify) and its webhook event is
 * queued in the same transaction, so however many passes and replicas look, it
 * is told once.
 */

const DAY_MS = 86_400_000;
/** A certificate that expired longer ago than this is no longer told about, and its notices are pruned. */
export const EXPIRED_NOTICE_MS = 90 * DAY_MS;

// A type alias, not an interface: Kysely's withTables wants a record type.
export type NoticeTables = {
  station_silences: { eui: string; last_seen_at: number | string; noticed_at: number | string };
  certificate_notices: { subject: string; fingerprint: string; window_ms: number | string; not_after: number | string; noticed_at: number | string };
};
type Db = Kysely<RegistryDatabase & NoticeTables & HealthTables>;

export interface SilenceQuery {
  readonly now: Date;
  /** The interval of a station without a learned one, and the grace past it (as health is read). */
  readonly intervalMs: number;
  readonly graceMs: number;
  /** Stations claimed per call. */
  readonly limit: number;
}

export interface SilenceNotice {
  readonly eui: string;
  readonly from: HealthState;
  readonly lastSeenAt: Date;
  readonly reason: string;
}

/**
 * Forgets the silences of stations that called since (the exchange told of
 * their return), then claims stations silent at `now` that are not yet told:
 * each gets its row, a health event and a `station.health_changed` webhook
 * event `to: silent`, in one transaction. On PostgreSQL the stations are read
 * `for update skip locked`, so an exchange of the same station (which locks its
 * row) is either before the claim (and the station is not silent) or after it
 * (and tells of its return); the primary key makes the claim once.
 */
export async function noticeSilences(db: Db, flavour: SqlFlavour, q: SilenceQuery): Promise<SilenceNotice[]> {
  const now = q.now.getTime();
  return db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('station_silences')
      .where(({ exists, selectFrom }) =>
        exists(selectFrom('stations as s').select('s.eui').whereRef('s.eui', '=', 'station_silences.eui').where(sql<boolean>`s.last_seen_at > station_silences.last_seen_at`)),
      )
      .execute();
    const rows = await trx
      .selectFrom('stations as s')
      .leftJoin('station_health as h', 'h.eui', 's.eui')
      .select(['s.eui as station', 's.last_seen_at as seen'])
      .selectAll('h')
      .where('s.last_seen_at', 'is not', null)
      .where(sql<boolean>`s.last_seen_at + coalesce(h.interval_ms, ${q.intervalMs}) + ${q.graceMs} < ${now}`)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('station_silences as x').select('x.eui').whereRef('x.eui', '=', 's.eui'))))
      .orderBy('s.eui')
      .limit(q.limit)
      .$if(flavour === 'postgres', (b) => b.forUpdate('s').skipLocked())
      .execute();
    if (rows.length === 0) return [];
    const claimed = new Set(
      (
        await trx
          .insertInto('station_silences')
          .values(rows.map((r) => ({ eui: r.station, last_seen_at: num(r.seen as number | string), noticed_at: now })))
          .onConflict((oc) => oc.column('eui').doNothing())
          .returning('eui')
          .execute()
      ).map((r) => r.eui),
    );
    const notices: SilenceNotice[] = [];
    for (const r of rows) {
      if (!claimed.has(r.station)) continue;
      const rec = r.eui === null ? null : toHealth({ ...r, eui: r.eui } as Parameters<typeof toHealth>[0]);
      const lastSeenAt = new Date(num(r.seen as number | string));
      notices.push({ eui: r.station, from: rec?.state ?? 'unknown', lastSeenAt, reason: healthReason('silent', rec, lastSeenAt, q.now) });
    }
    if (notices.length === 0) return [];
    await trx
      .insertInto('station_events')
      .values(
        notices.map((n) =>
          eventColumns(n.eui, { type: 'health', message: `health ${n.from} → silent: ${n.reason}`, detail: { kind: 'health_changed', eui: n.eui, from: n.from, to: 'silent', reason: n.reason, at: q.now.toISOString() } }, q.now),
        ),
      )
      .execute();
    await queueWebhookEvents(
      trx as unknown as Kysely<RegistryDatabase>,
      notices.map((n) => ({ type: 'station.health_changed', at: q.now, data: { station: { eui: n.eui }, from: n.from, to: 'silent', reason: n.reason, lastSeenAt: n.lastSeenAt.toISOString() } })),
    );
    return notices;
  });
}

/** What a certificate is for: a station's CUPS client certificate, the station listener's, or the station CA. */
export type CertificateRole = 'station' | 'server' | 'station_ca';

export interface WatchedCertificate {
  readonly role: CertificateRole;
  /** The station, for a station's certificate. */
  readonly eui?: string | undefined;
  readonly fingerprint: string;
  readonly notAfter: Date;
  /** The X.509 subject, when known. */
  readonly subject?: string | null | undefined;
}

export interface CertificateNotice {
  readonly certificate: WatchedCertificate;
  /** The smallest window the certificate has entered, ms. */
  readonly windowMs: number;
}

const subjectKey = (c: WatchedCertificate): string => (c.role === 'station' ? `station:${c.eui ?? ''}` : c.role);

/**
 * Claims the windows `certs` have entered at `now` (each certificate: every
 * window wider than its time left) and queues one `certificate.expiring` event
 * per certificate whose smallest such window was not told yet, in one
 * transaction: a certificate first seen 5 days before expiry is told once (the
 * 7-day window), not also for 30 days.
 */
export async function claimCertificateNotices(db: Db, now: Date, windowsMs: readonly number[], certs: readonly WatchedCertificate[]): Promise<CertificateNotice[]> {
  const at = now.getTime();
  const due = certs.filter((c) => c.notAfter.getTime() >= at - EXPIRED_NOTICE_MS && windowsMs.some((w) => c.notAfter.getTime() - at < w));
  if (due.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const notices: CertificateNotice[] = [];
    for (const c of due) {
      const entered = windowsMs.filter((w) => c.notAfter.getTime() - at < w);
      const smallest = Math.min(...entered);
      const inserted = await trx
        .insertInto('certificate_notices')
        .values(entered.map((w) => ({ subject: subjectKey(c), fingerprint: c.fingerprint, window_ms: w, not_after: c.notAfter.getTime(), noticed_at: at })))
        .onConflict((oc) => oc.columns(['subject', 'fingerprint', 'window_ms']).doNothing())
        .returning('window_ms')
        .execute();
      if (inserted.some((r) => num(r.window_ms) === smallest)) notices.push({ certificate: c, windowMs: smallest });
    }
    await queueWebhookEvents(trx as unknown as Kysely<RegistryDatabase>, notices.map((n) => certificateEvent(n, now)));
    return notices;
  });
}

function certificateEvent(n: CertificateNotice, now: Date): WebhookEvent {
  const c = n.certificate;
  const left = c.notAfter.getTime() - now.getTime();
  return {
    type: 'certificate.expiring',
    at: now,
    data: {
      certificate: { role: c.role, fingerprint: c.fingerprint, notAfter: c.notAfter.toISOString(), ...(c.subject == null ? {} : { subject: c.subject }) },
      ...(c.role === 'station' ? { station: { eui: c.eui } } : {}),
      within: windowText(n.windowMs),
      expired: left <= 0,
      daysLeft: Math.floor(left / DAY_MS),
    },
  };
}

/** A window as a duration flag reads it: 30d, 7d, 1d (12h, 90s for shrunk ones). */
export function windowText(ms: number): string {
  for (const [unit, size] of [['d', DAY_MS], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

/**
 * The stations' active CUPS certificates that have entered the widest of
 * `windowsMs` and not yet the notice of each window they entered, soonest
 * first, at most `limit`.
 */
export async function stationCertificatesDue(db: Db, now: Date, windowsMs: readonly number[], limit: number): Promise<WatchedCertificate[]> {
  const at = now.getTime();
  const widest = Math.max(...windowsMs);
  const { rows } = await sql<{ eui: string; fingerprint: string; not_after: number | string }>`
    select c.eui as eui, c.fingerprint as fingerprint, c.not_after as not_after from station_certificates c
    where c.category = 'cups' and c.status = 'active' and c.not_after is not null
      and c.not_after >= ${at - EXPIRED_NOTICE_MS} and c.not_after < ${at + widest}
      and (select count(*) from certificate_notices n where n.subject = ${'station:'} || c.eui and n.fingerprint = c.fingerprint)
        < (${sql.join(windowsMs.map((w) => sql`case when c.not_after < ${at + w} then 1 else 0 end`), sql` + `)})
    order by c.not_after, c.eui limit ${limit}`.execute(db);
  return rows.map((r) => ({ role: 'station' as const, eui: r.eui, fingerprint: r.fingerprint, notAfter: new Date(num(r.not_after)) }));
}

/** Drops the notices of certificates expired longer ago than anything is told about. */
export async function pruneCertificateNotices(db: Db, now: Date): Promise<number> {
  const r = await db.deleteFrom('certificate_notices').where('not_after', '<', now.getTime() - EXPIRED_NOTICE_MS).executeTakeFirst();
  return Number(r.numDeletedRows);
}
