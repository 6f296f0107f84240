import { sql, type Kysely } from 'kysely';
import { auditedTransaction, writeAudit, type AuditFor } from '../audit-row.js';
import type { NewAuditEntry } from '../access-types.js';
import type { RegistryBackend } from '../backend.js';
import { BackendStore } from '../backend-store.js';
import type { RegistryDatabase } from '../db-schema.js';
import type { HealthTables } from '../health/health-rows.js';
import {
  claimCertificateNotices,
  noticeSilences,
  pruneCertificateNotices,
  stationCertificatesDue,
  type CertificateNotice,
  type NoticeTables,
  type SilenceNotice,
  type SilenceQuery,
  type WatchedCertificate,
} from './notices.js';
import { queueWebhookEvents, setWebhooksEnabled } from './outbox.js';
import { toDelivery, toWebhook, type NewWebhook, type Webhook, type WebhookDelivery, type WebhookEvent, type WebhookTables } from './webhook-types.js';

type Db = Kysely<RegistryDatabase & WebhookTables>;

/** A due delivery a worker holds: what it needs to send it. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly eventType: string;
  readonly payload: string;
  readonly attempts: number;
  readonly createdAt: Date;
  readonly url: string;
  readonly secret: string | null;
  readonly format: 'json' | 'slack';
}

/** How an attempt ended, as the worker records it. */
export interface AttemptOutcome {
  readonly id: string;
  readonly claim: string;
  readonly webhookId: string;
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
  readonly at: Date;
  /** When to try again after a failure; null: give up (the row becomes dead). */
  readonly retryAt: Date | null;
  /** Failures in a row after which the webhook is disabled. */
  readonly disableAfter: number;
  /** The audit row of the disabling (actor: the server), written in the same transaction. */
  readonly disableAudit: (failures: number) => NewAuditEntry;
}

export interface DeliveryQuery {
  readonly webhookId?: string | undefined;
  readonly failed?: boolean | undefined;
  readonly limit: number;
}

/** The webhooks and their outbox, over the registry's database. */
export class KyselyWebhookStore extends BackendStore<RegistryDatabase & WebhookTables> {
  constructor(backend: RegistryBackend) {
    super(backend, backend.db.withTables<WebhookTables>());
  }

  addWebhook(hook: NewWebhook, at: Date, audit: AuditFor<Webhook>): Promise<Webhook> {
    setWebhooksEnabled(true);
    return this.run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        const row = await trx
          .insertInto('webhooks')
          .values({
            id: hook.id,
            url: hook.url,
            events: hook.events === 'all' ? '*' : JSON.stringify(hook.events),
            secret: hook.secret,
            format: hook.format,
            enabled: 1,
            consecutive_failures: 0,
            created_at: at.getTime(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toWebhook(row);
      }),
    );
  }

  listWebhooks(): Promise<Webhook[]> {
    return this.run(async (db) => (await db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute()).map(toWebhook));
  }

  getWebhook(id: string): Promise<Webhook | null> {
    return this.run(async (db) => {
      const row = await db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toWebhook(row);
    });
  }

  removeWebhook(id: string, audit: AuditFor<boolean>): Promise<boolean> {
    return this.run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        const r = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
        return r.numDeletedRows > 0n;
      }),
    );
  }

  /** Queues `event` for the webhook `id` alone (`webhook test`); only an enabled webhook's deliveries are sent. */
  queueFor(id: string, event: WebhookEvent, audit: AuditFor<void>): Promise<void> {
    return this.run((db) =>
      auditedTransaction(db, audit, async (trx) => {
        setWebhooksEnabled(true);
        await queueWebhookEvents(trx, [event], id);
      }),
    );
  }

  /** Whether any webhook is enabled (the outbox gate, refreshed by the worker). */
  anyEnabled(): Promise<boolean> {
    return this.run(async (db) => (await db.selectFrom('webhooks').select('id').where('enabled', '=', 1).limit(1).executeTakeFirst()) !== undefined);
  }

  listDeliveries(query: DeliveryQuery): Promise<WebhookDelivery[]> {
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .$if(query.webhookId !== undefined, (q) => q.where('webhook_id', '=', query.webhookId as string))
        .$if(query.failed === true, (q) =>
          q.where((eb) => eb.or([eb('state', 'in', ['failed', 'dead']), eb.and([eb('state', '=', 'pending'), eb('attempts', '>', 0)])])),
        )
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(query.limit)
        .execute();
      return rows.map(toDelivery);
    });
  }

  /**
   * Claims up to `limit` due deliveries of enabled webhooks for `claim`, in one
   * statement: each row's next attempt moves to `leaseUntil`, so no other
   * worker (another replica) sees it due until this one has recorded its
   * attempt or died. On PostgreSQL rows locked by a concurrent claim are
   * skipped; on SQLite the statement holds the write lock.
   */
  claimDue(now: Date, leaseUntil: Date, limit: number, claim: string): Promise<ClaimedDelivery[]> {
    const postgres = this.backend.flavour === 'postgres';
    return this.run(async (db) => {
      const due = db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
        .select('d.id')
        .where('d.state', '=', 'pending')
        .where('d.next_attempt_at', '<=', now.getTime())
        .where('w.enabled', '=', 1)
        .orderBy('d.next_attempt_at')
        .limit(limit)
        .$if(postgres, (q) => q.forUpdate('d').skipLocked());
      const claimed = await db
        .updateTable('webhook_deliveries')
        .set((eb) => ({ claim, next_attempt_at: leaseUntil.getTime(), attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', due)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now.getTime())
        .returning(['id', 'webhook_id', 'event_type', 'payload', 'attempts', 'created_at'])
        .execute();
      if (claimed.length === 0) return [];
      const hooks = new Map(
        (await db.selectFrom('webhooks').select(['id', 'url', 'secret', 'format']).where('id', 'in', [...new Set(claimed.map((c) => c.webhook_id))]).execute()).map((h) => [h.id, h]),
      );
      const out: ClaimedDelivery[] = [];
      for (const c of claimed) {
        const h = hooks.get(c.webhook_id);
        if (h === undefined) continue; // removed meanwhile: the cascade takes the row
        out.push({ id: c.id, webhookId: c.webhook_id, eventType: c.event_type, payload: c.payload, attempts: c.attempts, createdAt: new Date(Number(c.created_at)), url: h.url, secret: h.secret, format: h.format as 'json' | 'slack' });
      }
      return out;
    });
  }

  /**
   * Records an attempt, if `claim` still holds the row (a worker whose lease ran
   * out records nothing), and the webhook's run of failures in the same
   * transaction: a success ends the run, a failure lengthens it, and the failure
   * that reaches `disableAfter` disables the webhook with its audit row.
   * Returns whether the webhook was disabled by this attempt.
   */
  recordAttempt(o: AttemptOutcome): Promise<{ recorded: boolean; disabled: boolean }> {
    return this.run((db) =>
      db.transaction().execute(async (trx) => {
        // The webhook's row first, in every attempt's transaction: concurrent attempts on one webhook queue
        // here rather than lock its deliveries in another order (a disabling fails them all).
        if (this.backend.flavour === 'postgres') await trx.selectFrom('webhooks').select('id').where('id', '=', o.webhookId).forUpdate().execute();
        const state = o.ok ? 'delivered' : o.retryAt === null ? 'dead' : 'pending';
        const r = await trx
          .updateTable('webhook_deliveries')
          .set({
            state,
            claim: null,
            last_status: o.status,
            last_error: o.error,
            ...(o.ok ? { delivered_at: o.at.getTime() } : {}),
            ...(o.retryAt === null ? {} : { next_attempt_at: o.retryAt.getTime() }),
          })
          .where('id', '=', o.id)
          .where('claim', '=', o.claim)
          .executeTakeFirst();
        if (r.numUpdatedRows === 0n) return { recorded: false, disabled: false };
        if (o.ok) {
          await trx.updateTable('webhooks').set({ consecutive_failures: 0 }).where('id', '=', o.webhookId).execute();
          return { recorded: true, disabled: false };
        }
        const hook = await trx
          .updateTable('webhooks')
          .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1) }))
          .where('id', '=', o.webhookId)
          .returning(['consecutive_failures', 'enabled'])
          .executeTakeFirst();
        if (hook === undefined || hook.enabled !== 1 || hook.consecutive_failures < o.disableAfter) return { recorded: true, disabled: false };
        await trx.updateTable('webhooks').set({ enabled: 0 }).where('id', '=', o.webhookId).execute();
        // Its queued deliveries will not be sent: they end as failed, not left pending forever.
        await trx
          .updateTable('webhook_deliveries')
          .set({ state: 'failed', claim: null, last_error: sql<string>`coalesce(last_error, 'webhook disabled')` })
          .where('webhook_id', '=', o.webhookId)
          .where('state', '=', 'pending')
          .execute();
        await writeAudit(trx as unknown as Kysely<RegistryDatabase>, o.disableAudit(hook.consecutive_failures), undefined);
        return { recorded: true, disabled: true };
      }),
    );
  }

  /** Claims the stations gone silent since the last pass and tells of each once (see noticeSilences). */
  noticeSilences(q: SilenceQuery): Promise<SilenceNotice[]> {
    return this.run((db) => noticeSilences(this.notices(db), this.backend.flavour, q));
  }

  /** Claims the expiry windows the stations' certificates have entered and tells of each once, at most `limit` certificates a call. */
  async noticeStationCertificates(now: Date, windowsMs: readonly number[], limit: number): Promise<CertificateNotice[]> {
    return this.run(async (db) => {
      const due = await stationCertificatesDue(this.notices(db), now, windowsMs, limit);
      return claimCertificateNotices(this.notices(db), now, windowsMs, due);
    });
  }

  /** Claims the expiry windows `certs` (the server certificate, the station CA) have entered and tells of each once. */
  noticeCertificates(now: Date, windowsMs: readonly number[], certs: readonly WatchedCertificate[]): Promise<CertificateNotice[]> {
    return this.run((db) => claimCertificateNotices(this.notices(db), now, windowsMs, certs));
  }

  /** Forgets the notices of certificates expired long ago. */
  pruneCertificateNotices(now: Date): Promise<number> {
    return this.run((db) => pruneCertificateNotices(this.notices(db), now));
  }

  private notices(db: Db): Kysely<RegistryDatabase & NoticeTables & HealthTables> {
    return (db as unknown as Kysely<RegistryDatabase>).withTables<NoticeTables & HealthTables>();
  }
}

export type WebhookStore = KyselyWebhookStore;
export type { Db as WebhookDb };
