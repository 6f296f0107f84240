import { userInfo } from 'node:os';
import type { BlobStore } from '../blobs/types.js';
import { CupsError } from '../core/errors.js';
import { roleAllows, type Role } from '../core/roles.js';
import type { NewAuditEntry, OperatorAccess, OperatorFleet, OperatorRegistry } from '../registry/index.js';
import { DEFAULT_HEALTH, type HealthThresholds } from '../core/health.js';

/** Who is acting, as the audit log records it. */
export interface Actor {
  /** API key name, or `local:<user>` for the CLI on the server host. */
  readonly name: string;
  /** The API key id; null for the local CLI and the server itself. */
  readonly keyId: string | null;
  readonly role: Role;
  readonly via: 'api' | 'cli' | 'server';
  /** The client address for API calls. */
  readonly remoteAddress: string | null;
}

/**
 * What every operation is given: the stores, the clock and the acting identity.
 * The stores are the operator views (registry/operator-stores.ts): each write
 * requires its audit row, made with `audited`, and writes it in its transaction.
 */
export interface OperationContext {
  readonly registry: OperatorRegistry;
  readonly fleet: OperatorFleet;
  readonly access: OperatorAccess;
  readonly blobs: BlobStore;
  readonly clock: () => Date;
  readonly actor: Actor;
  /** The server's health thresholds (`--health-*`); DEFAULT_HEALTH when absent. */
  readonly health?: HealthThresholds;
}

/** The health thresholds an operation reads health with. */
export function healthOf(ctx: Pick<OperationContext, 'health'>): HealthThresholds {
  return ctx.health ?? DEFAULT_HEALTH;
}

/**
 * The CLI's direct-database mode runs on the server host with the database
 * credentials: whoever holds those is already an admin.
 */
export function localActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the audit log still says it was local.
  }
  return { name: `local:${user}`, keyId: null, role: 'admin', via: 'cli', remoteAddress: null };
}

/** Refuses the operation unless the actor holds `role` (or a higher one). */
export function authorize(ctx: OperationContext, role: Role, what: string): void {
  requireRole(ctx.actor, role, what);
}

/** Refuses unless `actor` holds `role` (or a higher one); the API also checks each route's role with it before reading the body. */
export function requireRole(actor: Actor, role: Role, what: string): void {
  if (roleAllows(actor.role, role)) return;
  throw new CupsError(
    'role_required',
    'permission_denied',
    `${what} needs the ${role} role; the key "${actor.name}" has ${actor.role}. Ask an admin for a key with that role.`,
    { required: role, held: actor.role },
  );
}

/** The identity the server itself acts as (the rollout engine, the first-start key). */
export const SERVER_ACTOR: Actor = Object.freeze({ name: 'server', keyId: null, role: 'admin', via: 'server', remoteAddress: null });

/** The audit row of a change by `actor` at `at`; `detail` must never carry secrets. */
export function auditRow(
  actor: Actor,
  at: Date,
  action: string,
  target: string | null,
  detail: Readonly<Record<string, unknown>> | null = null,
): NewAuditEntry {
  return {
    at,
    actor: actor.name,
    actorKeyId: actor.keyId,
    role: actor.role,
    via: actor.via,
    remoteAddress: actor.remoteAddress,
    action,
    target,
    detail,
  };
}

/**
 * The audit row of a change this operation makes: hand it to the store write
 * that makes the change (the write's last argument), which records it in the
 * same transaction. For a detail known only after the write, pass a function
 * of the write's result instead: `(r) => audited(ctx, 'x', r.id, {...})`.
 */
export function audited(
  ctx: OperationContext,
  action: string,
  target: string | null,
  detail: Readonly<Record<string, unknown>> | null = null,
): NewAuditEntry {
  return auditRow(ctx.actor, ctx.clock(), action, target, detail);
}

/**
 * Records a change made OUTSIDE the registry's database (blob files, the PKI
 * folder) in a transaction of its own. Never for a registry change: pass
 * `audited(…)` to the write instead, or a crash between the two loses the row.
 */
export async function auditOutsideRegistry(
  ctx: Pick<OperationContext, 'access' | 'clock' | 'actor'>,
  action: string,
  target: string | null,
  detail: Readonly<Record<string, unknown>> | null = null,
): Promise<void> {
  await ctx.access.appendAudit(auditRow(ctx.actor, ctx.clock(), action, target, detail));
}
