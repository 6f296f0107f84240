import type { FastifyInstance } from 'fastify';

/**
 * One log line per admin request, when it is answered. Reads (the dashboard's
 * polls, its files, API listings) are routine: debug. Changes, and answers that
 * failed on the server, are what an operator looks for in the log: info and error.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const read = request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
    const level = status >= 500 ? 'error' : read ? 'debug' : 'info';
    request.log[level]({ method: request.method, url: request.url, statusCode: status, ms: Math.round(reply.elapsedTime) }, 'admin request');
    done();
  });
}
