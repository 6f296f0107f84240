import { createHmac } from 'node:crypto';
import type { ClaimedDelivery } from '../registry/webhooks/webhook-store.js';

/** The signature header value of `body` under `secret`: what a receiver recomputes to trust the delivery. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** The body a webhook receives: the event itself, or readable text for Slack's incoming webhooks. */
export function deliveryBody(d: Pick<ClaimedDelivery, 'format' | 'payload'>): string {
  if (d.format === 'json') return d.payload;
  return JSON.stringify({ text: slackText(JSON.parse(d.payload) as { type: string; time: string; data: Record<string, unknown> }) });
}

function slackText(e: { type: string; time: string; data: Record<string, unknown> }): string {
  const d = e.data as Record<string, Record<string, unknown> | string | null | undefined>;
  const station = typeof d['station'] === 'object' && d['station'] !== null ? String(d['station']['eui']) : undefined;
  const rollout = typeof d['rollout'] === 'object' && d['rollout'] !== null ? d['rollout'] : undefined;
  const what = (() => {
    switch (e.type) {
      case 'station.health_changed':
        return `station ${station} health ${String(d['from'])} → ${String(d['to'])}: ${String(d['reason'])}`;
      case 'firmware.upgrade_failed':
        return `station ${station} failed to upgrade to ${String(d['package'])}: ${String(d['error'] ?? 'no reason given')}`;
      case 'token.compromised':
        return `station ${station}: a token was marked compromised (${String(d['reason'])}); replace it with \`bscups station rotate ${station}\``;
      case 'certificate.expiring': {
        const c = (d['certificate'] ?? {}) as Record<string, unknown>;
        const which = c['role'] === 'server' ? 'the server certificate' : c['role'] === 'station_ca' ? 'the station CA' : `the client certificate of station ${station}`;
        return (e.data['expired'] as boolean | undefined) === true ? `${which} expired on ${String(c['notAfter'])}` : `${which} expires within ${String(d['within'])} (${String(c['notAfter'])})`;
      }
      case 'station.unknown_first_seen':
        return `unknown station ${station} called for the first time${d['remoteAddress'] ? ` from ${String(d['remoteAddress'])}` : ''}`;
      case 'rollout.scheduled':
        return `rollout ${String(rollout?.['id'])} scheduled to start at ${String(rollout?.['startAt'])}`;
      case 'rollout.halted':
        return `rollout ${String(rollout?.['id'])} halted: ${String(rollout?.['haltReason'])}`;
      case 'rollout.completed':
        return `rollout ${String(rollout?.['id'])} completed`;
      case 'rollout.rolled_back':
        return `rollout ${String(rollout?.['id'])} rolled back`;
      case 'rollout.waiting_for_approval':
        return `rollout ${String(rollout?.['id'])} by ${String(rollout?.['createdBy'])} waits for approval: \`bscups rollout approve ${String(rollout?.['id'])}\` (by another operator) or \`deny\``;
      case 'test':
        return 'test delivery: this webhook works';
      default:
        return e.type;
    }
  })();
  return `bscups: ${what} (${e.time})`;
}

/** How one POST ended. */
export interface SendResult {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
}

/**
 * POSTs one delivery: signed when the webhook has a secret, within `timeoutMs`,
 * never following a redirect (a 3xx is a failure: the receiver is not where it
 * was registered). Only a 2xx answer counts as delivered.
 */
export async function sendDelivery(d: ClaimedDelivery, timeoutMs: number, userAgent: string): Promise<SendResult> {
  const body = deliveryBody(d);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': userAgent,
    'x-bscups-event': d.eventType,
    'x-bscups-delivery': d.id,
  };
  if (d.secret !== null) headers['x-bscups-signature'] = webhookSignature(d.secret, body);
  try {
    const res = await fetch(d.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The answer's body is not read: drop it so the connection is freed.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null };
    const error = res.status >= 300 && res.status < 400 ? `redirect ${res.status} not followed` : `answered ${res.status}`;
    return { ok: false, status: res.status, error };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return { ok: false, status: null, error: reason };
  }
}
