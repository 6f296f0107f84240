import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { auditRow, SERVER_ACTOR } from '../operations/context.js';
import { setWebhooksEnabled } from '../registry/webhooks/outbox.js';
import type { ClaimedDelivery, KyselyWebhookStore } from '../registry/webhooks/webhook-store.js';
import { sendDelivery } from './webhook-send.js';

export interface WebhookWorkerOptions {
  readonly store: KyselyWebhookStore;
  readonly clock: () => Date;
  readonly logger: Pick<Logger, 'warn' | 'info' | 'error'>;
  /** Between passes over the outbox. */
  readonly intervalMs: number;
  /** Per attempt. */
  readonly timeoutMs: number;
  /** Failed attempts in a row (across deliveries) after which a webhook is disabled. */
  readonly disableAfter: number;
  /** The first retry comes this long after the first failure; each further one twice as long, up to maxBackoffMs. */
  readonly firstRetryMs: number;
  readonly maxBackoffMs: number;
  /** A delivery is retried until it is this old, then dead. */
  readonly retryForMs: number;
  /** Deliveries claimed per round. */
  readonly batch?: number;
}

export const WEBHOOK_DEFAULTS = Object.freeze({
  intervalMs: 2000,
  timeoutMs: 10_000,
  disableAfter: 20,
  firstRetryMs: 10_000,
  maxBackoffMs: 3_600_000,
  retryForMs: 25 * 3_600_000,
});

export interface WebhookWorker {
  /** One pass now (tests, and the timer); resolves with how many attempts it made. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/** When a delivery that failed its `attempts`-th attempt at `now` is tried again; null when it is too old (dead). */
export function nextAttempt(o: Pick<WebhookWorkerOptions, 'firstRetryMs' | 'maxBackoffMs' | 'retryForMs'>, attempts: number, createdAt: Date, now: Date): Date | null {
  if (now.getTime() - createdAt.getTime() >= o.retryForMs) return null;
  const delay = Math.min(o.firstRetryMs * 2 ** Math.max(0, attempts - 1), o.maxBackoffMs);
  return new Date(now.getTime() + delay);
}

/**
 * The delivery worker of `serve`: apart from the station path (a slow receiver
 * holds only this worker's own requests), it claims due outbox rows (each row
 * once across replicas, see claimDue), POSTs them and records each attempt.
 */
export function startWebhookWorker(o: WebhookWorkerOptions, autostart = true): WebhookWorker {
  const batch = o.batch ?? 20;
  const claim = randomUUID();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<number> | undefined;

  const attempt = async (d: ClaimedDelivery): Promise<void> => {
    const result = await sendDelivery(d, o.timeoutMs, 'bscups-webhook');
    const at = o.clock();
    const retryAt = result.ok ? null : nextAttempt(o, d.attempts, d.createdAt, at);
    const r = await o.store.recordAttempt({
      id: d.id,
      claim,
      webhookId: d.webhookId,
      ok: result.ok,
      status: result.status,
      error: result.error,
      at,
      retryAt,
      disableAfter: o.disableAfter,
      disableAudit: (failures) => auditRow(SERVER_ACTOR, at, 'webhook.disable', d.webhookId, { url: d.url, failures, lastError: result.error }),
    });
    if (!result.ok) o.logger.warn({ webhook: d.webhookId, delivery: d.id, attempt: d.attempts, error: result.error, retryAt }, retryAt === null ? 'webhook delivery dead' : 'webhook delivery failed');
    if (r.disabled) o.logger.warn({ webhook: d.webhookId, url: d.url }, `webhook disabled after ${o.disableAfter} failed deliveries in a row`);
  };

  const pass = async (): Promise<number> => {
    const any = await o.store.anyEnabled();
    setWebhooksEnabled(any);
    // Nothing to send while no webhook is enabled (a disabled one's deliveries are not sent): no claim, no write.
    if (!any) return 0;
    let total = 0;
    for (;;) {
      const now = o.clock();
      // The lease outlasts the attempt, so no other worker takes the row while this one may still send it.
      const claimed = await o.store.claimDue(now, new Date(now.getTime() + o.timeoutMs + 60_000), batch, claim);
      await Promise.all(claimed.map(attempt));
      total += claimed.length;
      if (claimed.length < batch || stopped) return total;
    }
  };

  const runOnce = (): Promise<number> => {
    if (running !== undefined) return running;
    running = pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((e: unknown) => o.logger.error({ err: e }, 'webhook delivery pass failed'))
        .finally(schedule);
    }, o.intervalMs);
    timer.unref();
  };
  if (autostart) schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
