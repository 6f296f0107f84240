import type { Command } from 'commander';
import { WEBHOOK_EVENTS } from '../../../registry/webhooks/webhook-types.js';
import { runActions } from '../../run-actions.js';
import { at } from '../station/view.js';

const COLUMNS = ['id', 'url', 'events', 'format', 'secret', 'enabled', 'failures', 'created'];
const DELIVERY_COLUMNS = ['id', 'webhook', 'event', 'state', 'attempts', 'last', 'next attempt', 'created'];

export function register(program: Command): void {
  const webhook = program
    .command('webhook')
    .description('tell other systems what happens: signed JSON (or Slack text) POSTed by the server, retried for a day (admin)');
  webhook
    .command('add')
    .description('add a webhook; the server POSTs each matching event to it, signed with --secret')
    .requiredOption('--url <url>', 'the receiver, http:// or https:// only; redirects are not followed')
    .requiredOption('--events <list>', `"all" or a comma-separated list of: ${WEBHOOK_EVENTS.join(', ')}`)
    .option('--secret <secret>', 'sign each body: header X-Bscups-Signature: sha256=<hex HMAC-SHA256 of the body>; never shown again')
    .option('--format <format>', 'json (the event) or slack ({"text": "..."} for an incoming-webhook URL)', 'json')
    .action(async (opts: { url: string; events: string; secret?: string; format: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const w = await actions.addWebhook({ url: opts.url, events: opts.events, ...(opts.secret === undefined ? {} : { secret: opts.secret }), format: opts.format as 'json' | 'slack' });
        out.result(w, () => out.line(`added webhook ${w.id} → ${w.url} (${w.events === 'all' ? 'all events' : w.events.join(', ')}, ${w.format}${w.secret === null ? ', unsigned' : ', signed'})`));
      });
    });
  webhook
    .command('list')
    .description('list webhooks (a secret shows as "set", never itself)')
    .action(async (_opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const hooks = await actions.listWebhooks();
        out.result(hooks, () =>
          out.table(
            hooks.map((w) => ({ id: w.id, url: w.url, events: w.events === 'all' ? 'all' : w.events.join(','), format: w.format, secret: w.secret ?? '-', enabled: w.enabled ? 'yes' : 'no (failing)', failures: w.consecutiveFailures, created: at(w.createdAt) })),
            COLUMNS,
          ),
        );
      });
    });
  webhook
    .command('remove')
    .description('remove a webhook and its queued deliveries')
    .argument('<id>', 'webhook id, as "webhook list" shows it')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const w = await actions.removeWebhook(id);
        out.result(w, () => out.line(`removed webhook ${w.id} (${w.url})`));
      });
    });
  webhook
    .command('test')
    .description('queue a "test" event for one webhook; a running server delivers it ("webhook deliveries" shows the outcome)')
    .argument('<id>', 'webhook id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const r = await actions.testWebhook(id);
        out.result(r, () => out.line(`queued a test event for webhook ${r.webhook}`));
      });
    });
  webhook
    .command('deliveries')
    .description('recent deliveries, most recent first')
    .option('--failed', 'only deliveries that failed at least once, gave up (dead) or were dropped when their webhook was disabled (failed)')
    .option('--webhook <id>', 'only this webhook')
    .action(async (opts: { failed?: boolean; webhook?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const list = await actions.webhookDeliveries({ ...(opts.webhook === undefined ? {} : { webhook: opts.webhook }), ...(opts.failed === true ? { failed: true } : {}) });
        out.result(list, () =>
          out.table(
            list.map((d) => ({ id: d.id, webhook: d.webhookId, event: d.eventType, state: d.state, attempts: d.attempts, last: d.lastError ?? (d.lastStatus === null ? '-' : String(d.lastStatus)), 'next attempt': d.state === 'pending' ? at(d.nextAttemptAt) : '-', created: at(d.createdAt) })),
            DELIVERY_COLUMNS,
          ),
        );
      });
    });
}
