import type { RolloutPolicy } from '../../operations/firmware-library.js';
import type { KyselyWebhookStore } from '../../registry/webhooks/webhook-store.js';
import type { HealthThresholds } from '../../core/health.js';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { BlobStore } from '../../blobs/types.js';
import type { AccessStore, FleetStore, RolloutStore, StationRegistry } from '../../registry/index.js';
import { isPublic, registerAuthentication } from './auth.js';
import { ROUTE_ROLES, securityFor, summaryWithRole } from './route-roles.js';
import { registerErrorHandling } from './errors.js';
import { registerAccessRoutes } from './routes/access.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerFleetRoutes } from './routes/fleet.js';
import { registerStationRoutes } from './routes/stations.js';
import { registerFirmwareRoutes } from './routes/firmware.js';
import { registerRolloutRoutes } from './routes/rollouts.js';
import { registerServerRoutes } from './routes/server.js';
import { registerStationActionRoutes } from './routes/station-actions.js';
import { registerStationCredentialRoutes } from './routes/station-credentials.js';
import { registerFleetActionRoutes } from './routes/fleet-actions.js';
import { registerStationImportRoutes } from './routes/station-import.js';
import { registerFleetMetricsRoute } from './routes/metrics.js';
import { DEFAULT_DASHBOARD_DIR, registerDashboard } from './dashboard.js';
import { registerRequestLog } from './request-log.js';
import type { ServerStatsSource } from './server-stats.js';
import type { HttpsServerOptions } from '../tls-files.js';
import { adminServerFactory, answeredBeforeBody } from '../admin-server.js';
import { capConnections, DEFAULT_ADMIN_LIMITS, refusalReporter, type ConnectionLimits } from '../connection-limits.js';

/** What the admin API works on, injected like the station app's dependencies. */
export interface AdminDeps {
  readonly registry: StationRegistry;
  readonly fleet: FleetStore;
  readonly access: AccessStore;
  /** The firmware library and rollouts. */
  readonly rollouts: RolloutStore;
  readonly blobs: BlobStore;
  readonly logger: FastifyBaseLogger;
  readonly clock: () => Date;
  /** Built dashboard files (default: the package's dist/web). */
  readonly dashboardDir?: string;
  /** The station CA folder for credential rotation (default: BSCUPS_PKI_DIR or ./data/pki, as the CLI). */
  readonly pkiDir?: string;
  /** The station listener's certificate file (serve --tls-cert), whose expiry the summary and gauges report. */
  readonly serverCertFile?: string;
  /** Exchange counters of the station listener, for the dashboard's rates. */
  readonly serverStats?: ServerStatsSource;
  /** Called after a rollout was created or resumed here, so this server's rollout engine evaluates at once. */
  readonly rolloutsChanged?: () => void;
  /** Serve HTTPS with these options (--admin-tls-cert/--admin-tls-key); plain HTTP when absent. */
  readonly https?: HttpsServerOptions;
  /** Deadlines and the connection cap of the admin listener (--admin-…); DEFAULT_ADMIN_LIMITS when absent. */
  readonly limits?: ConnectionLimits;
  /** Health thresholds (`--health-*`): silence is read with them. */
  readonly health?: HealthThresholds;
  /** Webhooks and their outbox; the webhook routes refuse without it. */
  readonly webhooks?: KyselyWebhookStore;
  /** The server's rollout policy (approval, downloads in flight); none: no approval required, no cap known. */
  readonly rolloutPolicy?: RolloutPolicy;
}

export const API_PREFIX = '/api/v1';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every `METHOD /path` the admin app serves under /api/v1 and /metrics, for the check that the OpenAPI document covers them all. */
    adminRoutes: readonly string[];
  }
}

/**
 * The operator API, on a listener of its own (serve.ts binds it): JSON resources
 * under /api/v1, thin adapters over src/operations, schemas published as an
 * OpenAPI 3.1 document with a reference page served from local files only.
 */
export async function createAdminApp(deps: AdminDeps): Promise<FastifyInstance> {
  // Fastify types an HTTPS instance apart; the routes and hooks are the same either way.
  const limits = deps.limits ?? DEFAULT_ADMIN_LIMITS;
  // Fastify's own request logging writes two info lines per request; the dashboard polls every 2 s and loads its files, so
  // requests are logged once, by registerRequestLog, reads at debug and changes at info.
  const app = Fastify({ loggerInstance: deps.logger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 1024 * 1024, serverFactory: adminServerFactory({ limits, https: deps.https }) }) as unknown as FastifyInstance;
  const refused = refusalReporter((count) =>
    deps.logger.warn({ refused: count, adminMaxConnections: limits.maxConnections }, 'admin connection cap reached: new admin connections are being closed; raise --admin-max-connections if these are real operators'),
  );
  capConnections(app.server, limits, refused);
  // An answer sent before its request's body arrived (a 401 to an upload) closes the connection, or a client dripping the rest would hold it.
  app.addHook('onSend', async (request, reply) => {
    if (answeredBeforeBody(request.raw)) reply.header('connection', 'close');
  });
  registerRequestLog(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerAuthentication(app, deps);
  const routes: string[] = [];
  app.decorate('adminRoutes', routes);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(API_PREFIX) && route.url !== '/metrics') return;
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    for (const method of methods) routes.push(`${method} ${route.url}`);
    if (isPublic(route.url)) return;
    // Every keyed route names its role (route-roles.ts): enforced before the body is read, published in the document.
    const key = `${methods[0] ?? 'GET'} ${route.url}`; // a HEAD route is its GET's
    const role = ROUTE_ROLES[key];
    if (role === undefined) throw new Error(`admin route ${methods.join(',')} ${route.url} has no role in src/http/admin/route-roles.ts`);
    route.schema = { ...route.schema, security: securityFor(role), summary: summaryWithRole(key, route.schema?.summary) };
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'bscups admin API',
        version: '1',
        description:
          'Fleet management for LoRa Basics Station gateways. Every request except this document and its reference page needs an API key: `Authorization: Bearer bsk_…`. Roles: viewer reads; operator also changes stations, credentials, firmware and rollouts; admin also manages API keys and the PKI. Errors are `{"error":{"code","kind","message"}}`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'bsk_<id>.<secret>' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: `${API_PREFIX}/docs`,
    // swagger-ui would otherwise ask validator.swagger.io to check the document: nothing leaves the network.
    uiConfig: { validatorUrl: null } as object,
  });
  await registerDashboard(app, deps.dashboardDir ?? DEFAULT_DASHBOARD_DIR);
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, () => app.swagger());
  registerFleetMetricsRoute(app, deps);

  await app.register(
    async (api) => {
      registerStationImportRoutes(api, deps);
      registerStationRoutes(api, deps);
      registerFleetRoutes(api, deps);
      registerAccessRoutes(api, deps);
      registerWebhookRoutes(api, deps, deps.webhooks);
      registerFirmwareRoutes(api, deps);
      registerRolloutRoutes(api, deps);
      registerServerRoutes(api, deps);
      registerStationActionRoutes(api, deps);
      registerStationCredentialRoutes(api, deps);
      registerFleetActionRoutes(api, deps);
    },
    { prefix: API_PREFIX },
  );
  await app.ready();
  return app;
}
