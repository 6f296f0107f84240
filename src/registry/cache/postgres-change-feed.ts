import type { ClientConfig } from 'pg';
import { CHANGE_CHANNEL } from '../migration-change-notify.js';
import type { ChangeFeed, ChangeKind, ChangeListener } from './change-feed.js';

/** Options of the PostgreSQL change feed. */
export interface PostgresFeedOptions {
  /** How to connect (the registry's own settings, search path included). */
  readonly connection: ClientConfig;
  /** Shown in pg_stat_activity.application_name, so an operator can tell the listener apart. */
  readonly applicationName: string;
  /** A liveness query runs this often on the listening connection. */
  readonly heartbeatMs?: number;
  /** A liveness query unanswered for this long counts as a lost connection. */
  readonly deadlineMs?: number;
  readonly logger?: { warn(obj: object, msg?: string): void } | undefined;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

type Client = import('pg').Client;

/**
 * Hears changes through LISTEN on one dedicated connection (notifications are
 * sent by the 0004_change_notify triggers at commit). Whenever that connection
 * is lost, or stops answering its heartbeat within the deadline (a half-open
 * TCP connection delivers nothing and reports nothing), the feed reports
 * lost() at once and reconnects; live() again only after LISTEN succeeded.
 * Heartbeat 250 ms plus deadline 750 ms keep a silent loss under one second.
 */
export function postgresChangeFeed(options: PostgresFeedOptions): ChangeFeed & { readonly listenerPid: () => number | undefined } {
  const heartbeatMs = options.heartbeatMs ?? 250;
  const deadlineMs = options.deadlineMs ?? 750;
  let listener: ChangeListener | undefined;
  let client: Client | undefined;
  let schema = '';
  let closed = false;
  let backoff = RECONNECT_MIN_MS;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let pendingSince: number | undefined;

  const onNotification = (message: { channel: string; payload?: string | undefined }): void => {
    if (message.channel !== CHANGE_CHANNEL || message.payload === undefined) return;
    const p = message.payload;
    const euiAt = p.lastIndexOf(' ');
    const kindAt = p.lastIndexOf(' ', euiAt - 1);
    if (p.slice(0, kindAt) !== schema) return;
    listener?.changed(p.slice(euiAt + 1), p.slice(kindAt + 1, euiAt) as ChangeKind);
  };

  const drop = (c: Client, reason: string, err?: unknown): void => {
    if (client !== c) return;
    client = undefined;
    pendingSince = undefined;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    c.removeAllListeners('notification');
    // Destroying the socket fails any query still waiting on it; the listeners stay so that failure is ignored.
    (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    c.end().catch(() => undefined);
    if (closed) return;
    options.logger?.warn({ err, reason }, 'registry change listener lost; serving from the database until it is back');
    listener?.lost(reason);
    schedule();
  };

  const schedule = (): void => {
    if (closed || reconnectTimer !== undefined) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, backoff);
    reconnectTimer.unref();
    backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
  };

  const connect = async (): Promise<void> => {
    const { Client } = (await import('pg')).default;
    const c = new Client({ ...options.connection, application_name: options.applicationName });
    client = c;
    c.on('error', (err) => drop(c, 'listener connection failed', err));
    c.on('end', () => drop(c, 'listener connection ended'));
    try {
      await c.connect();
      const { rows } = await c.query<{ schema: string | null }>('select current_schema() as schema');
      schema = rows[0]?.schema ?? '';
      c.on('notification', onNotification);
      await c.query(`listen ${CHANGE_CHANNEL}`);
    } catch (e) {
      drop(c, 'could not listen for registry changes', e);
      return;
    }
    if (client !== c) return;
    backoff = RECONNECT_MIN_MS;
    heartbeat = setInterval(() => {
      if (pendingSince !== undefined) {
        if (performance.now() - pendingSince > deadlineMs) drop(c, `listener silent for over ${deadlineMs} ms`);
        return;
      }
      pendingSince = performance.now();
      c.query('select 1').then(
        () => {
          if (client === c) pendingSince = undefined;
        },
        (e: unknown) => drop(c, 'listener heartbeat failed', e),
      );
    }, heartbeatMs);
    heartbeat.unref();
    listener?.live();
  };

  return {
    async start(l) {
      listener = l;
      await connect();
    },
    poll: () => undefined,
    expire: () => undefined,
    listenerPid: () => (client as unknown as { processID?: number } | undefined)?.processID,
    async close() {
      closed = true;
      listener = undefined;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      if (heartbeat !== undefined) clearInterval(heartbeat);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
