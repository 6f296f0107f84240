import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { isCupsError, type ErrorKind } from '../../core/errors.js';
import { httpStatusOf } from '../error-status.js';

interface Described {
  readonly status: number;
  readonly code: string;
  readonly kind: ErrorKind;
  readonly message: string;
}

/** What a client is told: CupsErrors by their kind, request validation as invalid_argument, anything else internal. */
function describe(error: unknown): Described {
  if (isCupsError(error)) return { status: httpStatusOf(error), code: error.code, kind: error.kind, message: error.message };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation
      .map((v) => `${v.instancePath === '' ? (error.validationContext ?? 'request') : `${error.validationContext ?? ''}${v.instancePath}`}: ${v.message ?? 'invalid'}`)
      .join('; ');
    return { status: 400, code: 'invalid_request', kind: 'invalid_argument', message: issues };
  }
  if (isResponseSerializationError(error)) {
    return { status: 500, code: 'internal', kind: 'internal', message: 'internal server error; see the server log' };
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 500) return { status: 500, code: 'internal', kind: 'internal', message: 'internal server error; see the server log' };
  if (status === 413) return { status, code: 'body_too_large', kind: 'invalid_argument', message: fastifyError.message ?? 'request body too large' };
  if (status === 415) return { status, code: 'unsupported_media_type', kind: 'invalid_argument', message: 'send JSON with Content-Type: application/json' };
  return { status: 400, code: 'invalid_request', kind: 'invalid_argument', message: fastifyError.message ?? 'invalid request' };
}

/** Every admin API error answers `{"error":{"code","kind","message"}}` with the status of its kind. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const d = describe(error);
    if (d.status >= 500) request.log.error({ err: error, code: d.code }, 'admin request failed');
    else request.log.info({ code: d.code, status: d.status }, 'admin request refused');
    return reply.status(d.status).send({ error: { code: d.code, kind: d.kind, message: d.message } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'route_not_found', kind: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see /api/v1/openapi.json` },
    }),
  );
}
