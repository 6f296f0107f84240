import type { Role } from '../../core/roles.js';
import { BLOBS_GC_DELETE_ROLE } from '../../operations/blobs-gc.js';

/**
 * The least role each admin route needs, in one table: enforced before the
 * request body is read (a viewer's 4 GB upload is refused at its headers, not
 * after it was spooled) and published in the OpenAPI document as the route's
 * security requirement (`security: [{ apiKey: [role] }]`; OpenAPI 3.1 lets a
 * non-OAuth scheme name roles there). The operations still authorize every
 * action themselves (the CLI's local mode has no routes); where an operation
 * asks more for some input (blobs gc with delete) it refuses that itself.
 *
 * An admin route missing here makes the server refuse to start, so a route
 * added later cannot go out without a role.
 */
export const ROUTE_ROLES: Readonly<Record<string, Role>> = {
  'GET /api/v1/me': 'viewer',
  'GET /api/v1/server/stats': 'viewer',
  'GET /api/v1/server/refusals': 'viewer',
  'GET /metrics': 'viewer',

  'GET /api/v1/stations': 'viewer',
  'GET /api/v1/stations/count': 'viewer',
  'POST /api/v1/stations/labels': 'operator',
  'POST /api/v1/stations': 'operator',
  'GET /api/v1/stations/:eui': 'viewer',
  'PATCH /api/v1/stations/:eui': 'operator',
  'DELETE /api/v1/stations/:eui': 'operator',
  'GET /api/v1/stations/:eui/events': 'viewer',
  'GET /api/v1/stations/:eui/compliance': 'viewer',
  'POST /api/v1/stations/import': 'operator',
  'GET /api/v1/stations/export': 'viewer',
  'GET /api/v1/stations/export/page': 'viewer',

  'GET /api/v1/stations/:eui/auth': 'viewer',
  'PUT /api/v1/stations/:eui/auth': 'operator',
  'PUT /api/v1/stations/:eui/credentials': 'operator',
  'POST /api/v1/stations/:eui/issue-cert': 'operator',
  'POST /api/v1/stations/:eui/issue-token': 'operator',
  'POST /api/v1/stations/:eui/revoke': 'operator',
  'POST /api/v1/stations/:eui/rotate': 'operator',
  'POST /api/v1/stations/:eui/firmware/retry': 'operator',

  'GET /api/v1/fleet/summary': 'viewer',
  'GET /api/v1/events': 'viewer',
  'GET /api/v1/unknown-stations': 'viewer',

  'GET /api/v1/signing-keys': 'viewer',
  'POST /api/v1/signing-keys': 'admin',
  'DELETE /api/v1/signing-keys/:crc': 'admin',

  'GET /api/v1/firmware': 'viewer',
  'GET /api/v1/firmware/:package': 'viewer',
  'PUT /api/v1/firmware/:package': 'operator',
  'DELETE /api/v1/firmware/:package': 'operator',
  'POST /api/v1/firmware/:package/targets': 'operator',
  'POST /api/v1/firmware-upgrades': 'operator',
  'GET /api/v1/firmware-status': 'viewer',
  // Lists unused blobs; deleting them (delete: true) needs more: ROUTE_INPUT_ROLES.
  'POST /api/v1/blobs/gc': 'viewer',

  'GET /api/v1/rollouts': 'viewer',
  'POST /api/v1/rollouts': 'operator',
  'GET /api/v1/rollouts/:id': 'viewer',
  'GET /api/v1/rollouts/:id/members': 'viewer',
  'GET /api/v1/rollouts/:id/events': 'viewer',
  'POST /api/v1/rollouts/:id/pause': 'operator',
  'POST /api/v1/rollouts/:id/resume': 'operator',
  'POST /api/v1/rollouts/:id/abort': 'operator',
  'POST /api/v1/rollouts/:id/rollback': 'operator',
  'POST /api/v1/rollouts/:id/approve': 'operator',
  'POST /api/v1/rollouts/:id/deny': 'operator',
  'POST /api/v1/rollouts/:id/retry': 'operator',

  'GET /api/v1/api-keys': 'admin',
  'POST /api/v1/api-keys': 'admin',
  'DELETE /api/v1/api-keys/:id': 'admin',
  'GET /api/v1/webhooks': 'admin',
  'POST /api/v1/webhooks': 'admin',
  'DELETE /api/v1/webhooks/:id': 'admin',
  'POST /api/v1/webhooks/:id/test': 'admin',
  'GET /api/v1/webhook-deliveries': 'admin',
  'GET /api/v1/audit': 'viewer',
};

/** Input of a route that needs a higher role than the route itself; the operation enforces it, the document states it from here. */
export const ROUTE_INPUT_ROLES: Readonly<Record<string, readonly { readonly input: string; readonly role: Role }[]>> = {
  'POST /api/v1/blobs/gc': [{ input: 'delete: true', role: BLOBS_GC_DELETE_ROLE }],
};

/** What a route's summary says about roles, from the tables above only: `needs viewer; delete: true needs operator`. */
export function roleText(route: string): string {
  const role = ROUTE_ROLES[route];
  if (role === undefined) throw new Error(`admin route ${route} has no role in src/http/admin/route-roles.ts`);
  return [`needs ${role}`, ...(ROUTE_INPUT_ROLES[route] ?? []).map((r) => `${r.input} needs ${r.role}`)].join('; ');
}

/** A route's summary with its role text appended; a summary naming a role by hand is refused, so the tables stay the one source. */
export function summaryWithRole(route: string, summary: unknown): string {
  const text = typeof summary === 'string' ? summary : '';
  if (/\((viewer|operator|admin)\)/.test(text)) throw new Error(`admin route ${route}: its summary names a role by hand; the role text comes from src/http/admin/route-roles.ts`);
  return text === '' ? `(${roleText(route)})` : `${text} (${roleText(route)})`;
}

/** The OpenAPI security requirement that says a route needs an API key holding `role`. */
export function securityFor(role: Role): { apiKey: Role[] }[] {
  return [{ apiKey: [role] }];
}

/** The role a route's declared security requirement names, if any. */
export function declaredRole(schema: unknown): Role | undefined {
  const security = (schema as { security?: { apiKey?: Role[] }[] } | undefined)?.security;
  return security?.[0]?.apiKey?.[0];
}
