import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateApiKey } from '../../operations/api-keys.js';
import { requireRole, type Actor, type OperationContext } from '../../operations/context.js';
import { declaredRole } from './route-roles.js';
import type { AdminDeps } from './app.js';
import { keepRequestOpen } from '../admin-server.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an admin API route. */
    actor: Actor | null;
  }
}

/** Routes a browser or client may read without a key: they describe the API and hold no fleet data. */
export function isPublic(url: string): boolean {
  return url === '/api/v1/openapi.json' || url.startsWith('/api/v1/docs');
}

/**
 * Authenticates every admin request by its bearer key before any handler runs;
 * what the key's role may do is decided by the operations themselves.
 */
export function registerAuthentication(app: FastifyInstance, deps: AdminDeps): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    if (isPublic(request.url.split('?')[0] ?? '')) return;
    // The dashboard's own files are matched routes outside the API: they hold no fleet data.
    const route = request.routeOptions.url;
    const role = declaredRole(request.routeOptions.schema);
    if (route !== undefined && !route.startsWith('/api/') && role === undefined) return;
    const header = request.headers.authorization;
    const bearer = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? header;
    request.actor = await authenticateApiKey(deps.access, bearer, deps.clock(), request.ip);
    // A key holder's body (a firmware upload can take hours) is bounded by the idle timeout, not the whole-request deadline.
    keepRequestOpen(request.raw);
    // The route's role is checked here, before its body is read or validated; the operation checks again.
    if (route !== undefined && role !== undefined) requireRole(request.actor, role, `${request.method === 'HEAD' ? 'GET' : request.method} ${route}`);
  });
}

/** The operation context of an authenticated request. */
export function contextOf(request: FastifyRequest, deps: AdminDeps): OperationContext {
  if (request.actor === null) throw new Error('admin route reached without authentication');
  return { registry: deps.registry, fleet: deps.fleet, access: deps.access, blobs: deps.blobs, clock: deps.clock, actor: request.actor, ...(deps.health === undefined ? {} : { health: deps.health }) };
}
