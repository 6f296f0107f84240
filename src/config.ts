import { z } from 'zod';
import { invalid } from './core/errors.js';
import type { HealthThresholds } from './core/health.js';

/**
 * Configuration, parsed once at the edge (flags over env over defaults) into a
 * frozen object. Env vars all start with BSCUPS_.
 */
export interface Config {
  /** Registry location: SQLite path / sqlite: URL, or postgres:// URL. */
  readonly database: string;
  /** Blob store location: folder, memory:, or Azure connection string / SAS URL. */
  readonly blobs: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  /** Offers of one firmware before the upgrade is marked failed. */
  readonly maxOffers: number;
  /** Largest accepted update-info body in bytes. */
  readonly bodyLimit: number;
  /** Server certificate PEM file; with tlsKey the server speaks HTTPS. */
  readonly tlsCert?: string | undefined;
  /** Server private key PEM file. */
  readonly tlsKey?: string | undefined;
  /** CA PEM file that signs station client certificates; enables mutual TLS. */
  readonly clientCa?: string | undefined;
  /** Accept stations whose auth mode is none (a local quickstart, never a network). */
  readonly allowUnauthenticated: boolean;
  /** Seconds a client has to send a whole request (headers and body), and over TLS to finish its handshake; a station sends < 2 KB at once. */
  readonly requestTimeout: number;
  /** Seconds a client has to send the request headers; over TLS, the longest it may be silent during the handshake. */
  readonly headersTimeout: number;
  /** Seconds an idle keep-alive connection stays open after a response. */
  readonly keepAliveTimeout: number;
  /** Seconds without any traffic after which a connection is closed (a stalled download). */
  readonly idleTimeout: number;
  /** Open connections beyond which new ones are closed at once. */
  readonly maxConnections: number;
  /** Station events older than this many days are deleted. */
  readonly eventMaxAgeDays: number;
  /** Events kept per station (refusal rows aside); the oldest go first. */
  readonly eventsPerStation: number;
  /** Coalesced refusal rows (one per reason and source) kept per station. */
  readonly refusalRowsPerStation: number;
  /** Unregistered EUIs remembered; a new one beyond this evicts the longest silent. */
  readonly unknownStationsMax: number;
  /** Server log format: pretty (one readable line), json, or auto (pretty on a terminal). */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** Serve station and auth records from memory, kept current across replicas (registry/cache/). */
  readonly registryCache: boolean;
  /** Seconds between batched last-seen writes (0: one write per poll); a crash loses at most this much. */
  readonly lastSeenInterval: number;
  /** Address of the admin API listener (never the station port). */
  readonly adminHost: string;
  /** Port of the admin API listener, 0 for any free one. */
  readonly adminPort: number;
  /** Certificate PEM file of the admin listener; with adminTlsKey it speaks HTTPS (API keys, issued keys and tokens cross it). */
  readonly adminTlsCert?: string | undefined;
  /** Private key PEM file of adminTlsCert. */
  readonly adminTlsKey?: string | undefined;
  /** Seconds between rollout evaluations in a server (every replica evaluates; each step is written once). */
  readonly rolloutInterval: number;
  /** Seconds an admin client has to send a whole request before it is authenticated (and over TLS to finish its handshake); an authenticated body (an upload) is bounded by adminIdleTimeout instead. */
  readonly adminRequestTimeout: number;
  /** Seconds an admin client has to send its request headers; over TLS, the longest it may be silent during the handshake. */
  readonly adminHeadersTimeout: number;
  /** Seconds an idle keep-alive admin connection stays open after a response. */
  readonly adminKeepAliveTimeout: number;
  /** Seconds without any traffic after which an admin connection is closed. */
  readonly adminIdleTimeout: number;
  /** Open admin connections beyond which new ones are closed at once (its own budget: it cannot use up the station port's). */
  readonly adminMaxConnections: number;
  /** Open station connections allowed from one address; 0: no such cap (gateways behind NAT share an address). */
  readonly maxConnectionsPerAddress: number;
  /** Seconds that answers in progress get to finish after SIGTERM before their connections are closed. */
  readonly drainTimeout: number;
  /** Seconds over which repeated refusals (same reason, same source) are logged as one line with a count. */
  readonly refusalLogInterval: number;
  /** Seconds: an exchange sooner than this after the previous one is early (core/health.ts). */
  readonly healthEarly: number;
  /** Early exchanges in a row that make a station lns_failing. */
  readonly healthEarlyCount: number;
  /** Seconds: a station's regular interval until its own history shows another (the station's default check, 24 h). */
  readonly healthInterval: number;
  /** Seconds past its regular interval after which a station counts as silent. */
  readonly healthGrace: number;
  /** Renew mtls stations' CUPS certificates expiring within this duration (e.g. 30d); off when undefined. */
  readonly renewStationCertsBefore?: string | undefined;
  /** Renewals (new certificates offered) a server starts per minute at most. */
  readonly maxOffersPerMinute: number;
  /** Every new rollout waits for approval by an operator other than its creator. */
  readonly rolloutsNeedApproval: boolean;
  /** Firmware downloads a server streams at once at most; 0: no cap. */
  readonly maxConcurrentDownloads: number;
  /** Seconds a webhook receiver has to answer one delivery. */
  readonly webhookTimeout: number;
  /** Failed webhook deliveries in a row after which the webhook is disabled. */
  readonly webhookDisableAfter: number;
  /** Seconds between passes of the webhook delivery worker. */
  readonly webhookInterval: number;
  /** Seconds from a failed delivery to its first retry (each further one waits twice as long, at most an hour). */
  readonly webhookFirstRetry: number;
  /** Seconds a delivery is retried for before it is dead. */
  readonly webhookRetryFor: number;
  /** Seconds between looks for stations gone silent and certificates entering an expiry window (told to webhooks once). */
  readonly noticeInterval: number;
}

export const DEFAULTS = Object.freeze({
  database: './data/registry.sqlite',
  blobs: './data/blobs',
  host: '127.0.0.1',
  port: 6090,
  logLevel: 'info',
  maxOffers: 3,
  bodyLimit: 8192,
  tlsCert: undefined as string | undefined,
  tlsKey: undefined as string | undefined,
  clientCa: undefined as string | undefined,
  allowUnauthenticated: false,
  requestTimeout: 10,
  headersTimeout: 5,
  keepAliveTimeout: 5,
  idleTimeout: 60,
  maxConnections: 4096,
  eventMaxAgeDays: 90,
  eventsPerStation: 1000,
  refusalRowsPerStation: 100,
  unknownStationsMax: 10_000,
  logFormat: 'auto' as 'auto' | 'json' | 'pretty',
  registryCache: true,
  lastSeenInterval: 1,
  adminHost: '127.0.0.1',
  adminPort: 6091,
  adminTlsCert: undefined as string | undefined,
  adminTlsKey: undefined as string | undefined,
  rolloutInterval: 10,
  adminRequestTimeout: 10,
  adminHeadersTimeout: 5,
  adminKeepAliveTimeout: 5,
  adminIdleTimeout: 60,
  adminMaxConnections: 256,
  maxConnectionsPerAddress: 0,
  drainTimeout: 10,
  refusalLogInterval: 10,
  healthEarly: 3600,
  healthEarlyCount: 2,
  healthInterval: 86_400,
  healthGrace: 7200,
  renewStationCertsBefore: undefined as string | undefined,
  maxOffersPerMinute: 60,
  rolloutsNeedApproval: false,
  maxConcurrentDownloads: 0,
  webhookTimeout: 10,
  webhookDisableAfter: 20,
  webhookInterval: 2,
  webhookFirstRetry: 10,
  webhookRetryFor: 25 * 3600,
  noticeInterval: 60,
});

const ENV: Record<keyof Config, string> = {
  database: 'BSCUPS_DATABASE',
  blobs: 'BSCUPS_BLOBS',
  host: 'BSCUPS_HOST',
  port: 'BSCUPS_PORT',
  logLevel: 'BSCUPS_LOG_LEVEL',
  maxOffers: 'BSCUPS_MAX_OFFERS',
  bodyLimit: 'BSCUPS_BODY_LIMIT',
  tlsCert: 'BSCUPS_TLS_CERT',
  tlsKey: 'BSCUPS_TLS_KEY',
  clientCa: 'BSCUPS_CLIENT_CA',
  allowUnauthenticated: 'BSCUPS_ALLOW_UNAUTHENTICATED',
  requestTimeout: 'BSCUPS_REQUEST_TIMEOUT',
  headersTimeout: 'BSCUPS_HEADERS_TIMEOUT',
  keepAliveTimeout: 'BSCUPS_KEEP_ALIVE_TIMEOUT',
  idleTimeout: 'BSCUPS_IDLE_TIMEOUT',
  maxConnections: 'BSCUPS_MAX_CONNECTIONS',
  eventMaxAgeDays: 'BSCUPS_EVENT_MAX_AGE_DAYS',
  eventsPerStation: 'BSCUPS_EVENTS_PER_STATION',
  refusalRowsPerStation: 'BSCUPS_REFUSAL_ROWS_PER_STATION',
  unknownStationsMax: 'BSCUPS_UNKNOWN_STATIONS_MAX',
  logFormat: 'BSCUPS_LOG_FORMAT',
  registryCache: 'BSCUPS_REGISTRY_CACHE',
  lastSeenInterval: 'BSCUPS_LAST_SEEN_INTERVAL',
  adminHost: 'BSCUPS_ADMIN_HOST',
  adminPort: 'BSCUPS_ADMIN_PORT',
  adminTlsCert: 'BSCUPS_ADMIN_TLS_CERT',
  adminTlsKey: 'BSCUPS_ADMIN_TLS_KEY',
  rolloutInterval: 'BSCUPS_ROLLOUT_INTERVAL',
  adminRequestTimeout: 'BSCUPS_ADMIN_REQUEST_TIMEOUT',
  adminHeadersTimeout: 'BSCUPS_ADMIN_HEADERS_TIMEOUT',
  adminKeepAliveTimeout: 'BSCUPS_ADMIN_KEEP_ALIVE_TIMEOUT',
  adminIdleTimeout: 'BSCUPS_ADMIN_IDLE_TIMEOUT',
  adminMaxConnections: 'BSCUPS_ADMIN_MAX_CONNECTIONS',
  maxConnectionsPerAddress: 'BSCUPS_MAX_CONNECTIONS_PER_ADDRESS',
  drainTimeout: 'BSCUPS_DRAIN_TIMEOUT',
  refusalLogInterval: 'BSCUPS_REFUSAL_LOG_INTERVAL',
  healthEarly: 'BSCUPS_HEALTH_EARLY',
  healthEarlyCount: 'BSCUPS_HEALTH_EARLY_COUNT',
  healthInterval: 'BSCUPS_HEALTH_INTERVAL',
  healthGrace: 'BSCUPS_HEALTH_GRACE',
  renewStationCertsBefore: 'BSCUPS_RENEW_STATION_CERTS_BEFORE',
  maxOffersPerMinute: 'BSCUPS_MAX_OFFERS_PER_MINUTE',
  rolloutsNeedApproval: 'BSCUPS_ROLLOUTS_NEED_APPROVAL',
  maxConcurrentDownloads: 'BSCUPS_MAX_CONCURRENT_DOWNLOADS',
  webhookTimeout: 'BSCUPS_WEBHOOK_TIMEOUT',
  webhookDisableAfter: 'BSCUPS_WEBHOOK_DISABLE_AFTER',
  webhookInterval: 'BSCUPS_WEBHOOK_INTERVAL',
  webhookFirstRetry: 'BSCUPS_WEBHOOK_FIRST_RETRY',
  webhookRetryFor: 'BSCUPS_WEBHOOK_RETRY_FOR',
  noticeInterval: 'BSCUPS_NOTICE_INTERVAL',
};

const schema = z.object({
  database: z.string().min(1),
  blobs: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  maxOffers: z.coerce.number().int().min(1).max(1000),
  bodyLimit: z.coerce.number().int().min(1024).max(1024 * 1024),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  clientCa: z.string().min(1).optional(),
  allowUnauthenticated: z.union([z.boolean(), z.stringbool()]),
  // Seconds, fractions allowed (tests use short deadlines); capped so a typo cannot disable the guard.
  requestTimeout: z.coerce.number().positive().max(3600),
  headersTimeout: z.coerce.number().positive().max(3600),
  keepAliveTimeout: z.coerce.number().positive().max(3600),
  idleTimeout: z.coerce.number().positive().max(86_400),
  maxConnections: z.coerce.number().int().min(1).max(1_000_000),
  eventMaxAgeDays: z.coerce.number().positive().max(36_500),
  eventsPerStation: z.coerce.number().int().min(10).max(10_000_000),
  refusalRowsPerStation: z.coerce.number().int().min(1).max(100_000),
  unknownStationsMax: z.coerce.number().int().min(1).max(10_000_000),
  logFormat: z.enum(['auto', 'json', 'pretty']),
  registryCache: z.union([z.boolean(), z.stringbool()]),
  lastSeenInterval: z.coerce.number().min(0).max(60),
  adminHost: z.string().min(1),
  adminPort: z.coerce.number().int().min(0).max(65535),
  adminTlsCert: z.string().min(1).optional(),
  adminTlsKey: z.string().min(1).optional(),
  // Fractions allowed so tests can run rollouts in seconds.
  rolloutInterval: z.coerce.number().min(0.05).max(3600),
  adminRequestTimeout: z.coerce.number().positive().max(3600),
  adminHeadersTimeout: z.coerce.number().positive().max(3600),
  adminKeepAliveTimeout: z.coerce.number().positive().max(3600),
  adminIdleTimeout: z.coerce.number().positive().max(86_400),
  adminMaxConnections: z.coerce.number().int().min(1).max(1_000_000),
  maxConnectionsPerAddress: z.coerce.number().int().min(0).max(1_000_000),
  drainTimeout: z.coerce.number().min(0).max(3600),
  refusalLogInterval: z.coerce.number().positive().max(3600),
  // Seconds, fractions allowed so tests can shrink the station's rhythm to milliseconds.
  healthEarly: z.coerce.number().positive().max(30 * 86_400),
  healthEarlyCount: z.coerce.number().int().min(1).max(100),
  healthInterval: z.coerce.number().positive().max(365 * 86_400),
  healthGrace: z.coerce.number().min(0).max(30 * 86_400),
  renewStationCertsBefore: z.string().regex(/^\d{1,9}[smhdw]$/, 'a duration such as 30d').optional(),
  maxOffersPerMinute: z.coerce.number().int().min(1).max(100_000),
  rolloutsNeedApproval: z.union([z.boolean(), z.stringbool()]),
  maxConcurrentDownloads: z.coerce.number().int().min(0).max(1_000_000),
  // Seconds, fractions allowed so tests can run retries in milliseconds.
  webhookTimeout: z.coerce.number().min(0.05).max(300),
  webhookDisableAfter: z.coerce.number().int().min(1).max(100_000),
  webhookInterval: z.coerce.number().min(0.01).max(3600),
  webhookFirstRetry: z.coerce.number().min(0.01).max(30),
  webhookRetryFor: z.coerce.number().min(0.01).max(30 * 86_400),
  // Fractions allowed so tests see a silence within their shrunk health thresholds.
  noticeInterval: z.coerce.number().min(0.01).max(3600),
});

export type ConfigInput = { readonly [K in keyof Config]?: string | number | boolean | undefined };

/** Builds the config from flags (highest), then env, then defaults; throws invalid_config naming the source. */
export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const merged: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  for (const key of Object.keys(DEFAULTS) as (keyof Config)[]) {
    const flag = flags[key];
    const fromEnv = env[ENV[key]];
    if (flag !== undefined) {
      merged[key] = flag;
      source[key] = `--${kebab(key)}`;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      merged[key] = fromEnv;
      source[key] = ENV[key];
    } else {
      merged[key] = DEFAULTS[key];
      source[key] = 'default';
    }
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const from = source[key] ?? key;
    throw invalid(
      'invalid_config',
      `${from === 'default' ? `the default ${key}` : from} is ${JSON.stringify(merged[key])}: expected ${expectation(key, issue?.message ?? 'a valid value')}`,
      { key, field: from },
    );
  }
  const { tlsCert, tlsKey, clientCa } = parsed.data;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    const missing = tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    throw invalid('invalid_config', `--tls-cert and --tls-key go together: give ${`--${kebab(missing)}`} (env ${ENV[missing]}) as well`, { key: missing });
  }
  if ((parsed.data.adminTlsCert === undefined) !== (parsed.data.adminTlsKey === undefined)) {
    const missing = parsed.data.adminTlsCert === undefined ? 'adminTlsCert' : 'adminTlsKey';
    throw invalid('invalid_config', `--admin-tls-cert and --admin-tls-key go together: give --${kebab(missing)} (env ${ENV[missing]}) as well`, { key: missing });
  }
  if (clientCa !== undefined && tlsCert === undefined) {
    throw invalid('invalid_config', `--client-ca (from ${source.clientCa}) needs TLS: give --tls-cert and --tls-key too`, { key: 'clientCa' });
  }
  for (const [headersKey, requestKey] of [['headersTimeout', 'requestTimeout'], ['adminHeadersTimeout', 'adminRequestTimeout']] as const) {
    // A shorter request deadline given alone brings the default headers deadline down with it.
    if (parsed.data[headersKey] > parsed.data[requestKey] && source[headersKey] === 'default') {
      parsed.data[headersKey] = parsed.data[requestKey];
    }
    if (parsed.data[headersKey] > parsed.data[requestKey]) {
      throw invalid(
        'invalid_config',
        `the headers deadline (${source[headersKey]}: ${parsed.data[headersKey]} s) cannot be longer than the whole-request deadline (${source[requestKey]}: ${parsed.data[requestKey]} s)`,
        { key: headersKey },
      );
    }
  }
  if (parsed.data.renewStationCertsBefore !== undefined && clientCa === undefined) {
    throw invalid('invalid_config', `${source.renewStationCertsBefore} renews the certificates of mtls stations, which needs mutual TLS: give --client-ca (and --tls-cert, --tls-key) too`, { key: 'renewStationCertsBefore' });
  }
  if (parsed.data.adminPort !== 0 && parsed.data.adminPort === parsed.data.port) {
    throw invalid(
      'invalid_config',
      `the admin API (${source.adminPort}) and the station listener (${source.port}) both want port ${parsed.data.port}: stations must never reach the admin API, give them different ports`,
      { key: 'adminPort' },
    );
  }
  if (parsed.data.healthEarly >= parsed.data.healthInterval) {
    throw invalid(
      'invalid_config',
      `--health-early (${source.healthEarly}: ${parsed.data.healthEarly} s) must be shorter than --health-interval (${source.healthInterval}: ${parsed.data.healthInterval} s): a call at the regular interval cannot be early`,
      { key: 'healthEarly' },
    );
  }
  return Object.freeze(parsed.data);
}

/** The health thresholds (core/health.ts) of a config, in milliseconds. */
export function healthThresholds(config: Pick<Config, 'healthEarly' | 'healthEarlyCount' | 'healthInterval' | 'healthGrace'>): HealthThresholds {
  return Object.freeze({
    earlyMs: config.healthEarly * 1000,
    earlyCount: config.healthEarlyCount,
    intervalMs: config.healthInterval * 1000,
    graceMs: config.healthGrace * 1000,
  });
}

/** What a field accepts, in words, read from its schema so a new option describes itself. */
function expectation(key: string, fallback: string): string {
  let field = (schema.shape as Record<string, z.ZodType | undefined>)[key];
  if (field instanceof z.ZodOptional) field = field.unwrap() as z.ZodType;
  if (field instanceof z.ZodNumber) {
    const whole = field.isInt ? 'a whole number' : 'a number';
    const { minValue: min, maxValue: max } = field;
    if (min !== null && max !== null && Number.isFinite(min) && Number.isFinite(max)) return `${whole} from ${min} to ${max}`;
    return whole;
  }
  if (field instanceof z.ZodEnum) return `one of ${field.options.join(', ')}`;
  if (field instanceof z.ZodString && key === 'renewStationCertsBefore') return 'a number followed by s, m, h, d or w, e.g. 30d';
  if (field instanceof z.ZodUnion && field.options.some((o) => o instanceof z.ZodBoolean)) return 'true or false';
  return fallback.replace(/^Invalid input: /, '');
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
