import { userInfo } from 'node:os';
import type { BlobStore } from '../blobs/types.js';
import { CupsError } from '../core/errors.js';
import { roleAllows, type Role } from '../core/roles.js';
import { DEFAULT_HEALTH, type HealthThresholds } from '../core/health.js';
import type { AccessStore, FleetStore, StationRegistry } from '../registry/index.js';

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

/** What every operation is given: the stores, the clock and the acting identity. */
export interface OperationContext {
  readonly registry: StationRegistry;
  readonly fleet: FleetStore;
  readonly access: AccessStore;
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

/** Records a change in the audit log; `detail` must never carry secrets. */
export async function audit(
  ctx: OperationContext,
  action: string,
  target: string | null,
  detail: Readonly<Record<string, unknown>> | null = null,
): Promise<void> {
  const { actor } = ctx;
  await ctx.access.appendAudit({
    at: ctx.clock(),
    actor: actor.name,
    actorKeyId: actor.keyId,
    role: actor.role,
    via: actor.via,
    remoteAddress: actor.remoteAddress,
    action,
    target,
    detail,
  });
}
