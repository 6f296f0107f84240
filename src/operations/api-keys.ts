import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseDuration } from '../core/duration.js';
import { CupsError, invalid, notFound } from '../core/errors.js';
import { isRole, ROLES, type Role } from '../core/roles.js';
import type { AccessStore, ApiKeyInfo, OperatorAccess } from '../registry/index.js';
import { audited, auditRow, authorize, SERVER_ACTOR, type Actor, type OperationContext } from './context.js';

// A key reads `bsk_<id>.<secret>`: the id finds the row, the secret is compared
// with its stored SHA-256 (a plain hash suffices: the secret is 256 random bits,
// not a password anyone could guess).

const KEY = /^bsk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;
/** The id of the key `serve` creates on first start; fixed so two replicas starting together create one. */
export const FIRST_ADMIN_KEY_ID = '0000000000000001';

export interface NewApiKeyInput {
  readonly name: string;
  readonly role: string;
  /** A duration from now (`90d`) or an ISO 8601 instant; absent: never expires. */
  readonly expires?: string;
}

export interface CreatedApiKey {
  readonly key: ApiKeyInfo;
  /** The whole key, shown once: only its hash is stored. */
  readonly secret: string;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function expiry(text: string | undefined, now: Date): Date | null {
  if (text === undefined) return null;
  if (/^\d+[smhdw]$/.test(text)) return new Date(now.getTime() + parseDuration(text, 'expires'));
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalid('invalid_expiry', `expires must be a duration like 90d or an ISO 8601 time, got "${text}"`, { field: 'expires' });
  if (ms <= now.getTime()) throw invalid('invalid_expiry', `expires ${text} is in the past`, { field: 'expires' });
  return new Date(ms);
}

export async function createApiKey(ctx: OperationContext, input: NewApiKeyInput): Promise<CreatedApiKey> {
  authorize(ctx, 'admin', 'creating an API key');
  const name = input.name.trim();
  if (name === '' || name.length > 100) throw invalid('invalid_name', 'an API key needs a name of 1 to 100 characters', { field: 'name' });
  if (!isRole(input.role)) throw invalid('invalid_role', `role must be one of ${ROLES.join(', ')}, got "${input.role}"`, { field: 'role' });
  const now = ctx.clock();
  const id = randomBytes(8).toString('hex');
  const secret = newSecret();
  const expiresAt = expiry(input.expires, now);
  const key = await ctx.access.addApiKey(
    { id, name, role: input.role, hash: hashSecret(secret), createdBy: ctx.actor.name, expiresAt },
    now,
    audited(ctx, 'apikey.create', id, { name, role: input.role, expiresAt: expiresAt?.toISOString() ?? null }),
  );
  return { key, secret: `bsk_${id}.${secret}` };
}

export async function listApiKeys(ctx: OperationContext): Promise<ApiKeyInfo[]> {
  authorize(ctx, 'admin', 'listing API keys');
  return ctx.access.listApiKeys();
}

export async function revokeApiKey(ctx: OperationContext, id: string): Promise<ApiKeyInfo> {
  authorize(ctx, 'admin', 'revoking an API key');
  const key = await ctx.access.findApiKey(id);
  if (key === undefined) throw notFound('api_key_not_found', `No API key has id ${id}; "bscups apikey list" shows them.`, { id });
  if (key.revokedAt === null) {
    // Revoked by someone else meanwhile: their row records it, not this one.
    await ctx.access.revokeApiKey(id, ctx.clock(), (revoked) => (revoked ? audited(ctx, 'apikey.revoke', id, { name: key.name }) : null));
  }
  const { hash: _hash, ...info } = (await ctx.access.findApiKey(id)) ?? key;
  return info;
}

function refused(message: string): CupsError {
  return new CupsError('invalid_api_key', 'unauthenticated', message);
}

/** The actor a bearer key stands for; throws unauthenticated for a missing, unknown, revoked or expired key. */
export async function authenticateApiKey(
  access: AccessStore,
  bearer: string | undefined,
  now: Date,
  remoteAddress: string | null,
): Promise<Actor> {
  if (bearer === undefined || bearer === '') {
    throw new CupsError('api_key_required', 'unauthenticated', 'send an API key as "Authorization: Bearer bsk_…" (create one with "bscups apikey create")');
  }
  const m = KEY.exec(bearer);
  if (m === null) throw refused('the API key is malformed; keys look like bsk_<16 hex>.<43 characters>');
  const [, id, secret] = m as unknown as [string, string, string];
  const key = await access.findApiKey(id);
  const presented = Buffer.from(hashSecret(secret), 'hex');
  if (key === undefined || !timingSafeEqual(presented, Buffer.from(key.hash, 'hex'))) throw refused('the API key is not valid');
  if (key.revokedAt !== null) throw refused(`the API key "${key.name}" was revoked; ask an admin for a new one`);
  if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) {
    throw refused(`the API key "${key.name}" expired at ${key.expiresAt.toISOString()}; ask an admin for a new one`);
  }
  return { name: key.name, keyId: key.id, role: key.role as Role, via: 'api', remoteAddress };
}

/**
 * On the very first start (no key ever created) makes an admin key and returns
 * it, to be shown once; returns null on every later start, and on the replica
 * that lost the race when several start together.
 */
export async function ensureFirstAdminKey(access: OperatorAccess, now: Date): Promise<string | null> {
  if ((await access.countApiKeys()) > 0) return null;
  const secret = newSecret();
  try {
    await access.addApiKey(
      { id: FIRST_ADMIN_KEY_ID, name: 'first-admin', role: 'admin', hash: hashSecret(secret), createdBy: null, expiresAt: null },
      now,
      auditRow(SERVER_ACTOR, now, 'apikey.create', FIRST_ADMIN_KEY_ID, { name: 'first-admin', role: 'admin', firstStart: true }),
    );
  } catch (e) {
    if (e instanceof CupsError && e.code === 'api_key_exists') return null;
    throw e;
  }
  return `bsk_${FIRST_ADMIN_KEY_ID}.${secret}`;
}
