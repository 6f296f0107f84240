import { z } from 'zod';
import { invalid } from './core/errors.js';

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
}

export const DEFAULTS = Object.freeze({
  database: './data/registry.sqlite',
  blobs: './data/blobs',
  host: '127.0.0.1',
  port: 6090,
  logLevel: 'info',
  maxOffers: 3,
  bodyLimit: 8192,
});

const ENV: Record<keyof Config, string> = {
  database: 'BSCUPS_DATABASE',
  blobs: 'BSCUPS_BLOBS',
  host: 'BSCUPS_HOST',
  port: 'BSCUPS_PORT',
  logLevel: 'BSCUPS_LOG_LEVEL',
  maxOffers: 'BSCUPS_MAX_OFFERS',
  bodyLimit: 'BSCUPS_BODY_LIMIT',
};

const schema = z.object({
  database: z.string().min(1),
  blobs: z.string().min(1),
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  maxOffers: z.coerce.number().int().min(1).max(1000),
  bodyLimit: z.coerce.number().int().min(1024).max(1024 * 1024),
});

export type ConfigInput = { readonly [K in keyof Config]?: string | number | undefined };

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
    throw invalid('invalid_config', `invalid ${source[key] ?? key}: ${issue?.message ?? 'bad value'}`, { key });
  }
  return Object.freeze(parsed.data);
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
