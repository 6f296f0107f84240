import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { createApp } from '../src/http/app.js';
import { encodeStationRequestBody } from '../src/protocol/index.js';
import { exampleRequest } from './support/fixtures.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { createTestSchema, shouldRunPostgresSuite, type TestSchema } from './support/postgres.js';
import { TcpProxy } from './support/tcp-proxy.js';

const EUI = '0016C001FF10A235';
const payload = encodeStationRequestBody(exampleRequest({ router: EUI, keys: [] }));

const runs = await shouldRunPostgresSuite('database outage');

describe.runIf(runs)('PostgreSQL outage and recovery', () => {
  let schema: TestSchema;
  let proxy: TcpProxy;
  let registry: StationRegistry;
  let app: FastifyInstance;

  beforeAll(async () => {
    schema = await createTestSchema();
    proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.start();
    const url = new URL(schema.url);
    url.port = String(port);
    url.searchParams.set('connect_timeout', '2');
    registry = await createRegistry(url.toString());
    await registry.migrate();
    await registry.createStation({ eui: EUI });
    app = await createApp({ registry, blobs: createMemoryBlobStore(), logger: pino({ level: 'silent' }), allowUnauthenticated: true });
  });

  afterAll(async () => {
    await app?.close();
    await registry?.close();
    await proxy?.cut();
    await schema?.drop();
  });

  const post = () => app.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload });

  it('answers 503 while the database is gone, and recovers by itself when it is back', async () => {
    expect((await post()).statusCode).toBe(200);

    await proxy.cut();
    const started = Date.now();
    const down = await post();
    expect(down.statusCode).toBe(503);
    // A bound on hanging, not a speed goal: the connect timeout is 2 s.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

    await proxy.restore();
    // The pool may hand out one connection that died with the cut; it must heal within a few requests.
    let status = 0;
    for (let i = 0; i < 5 && status !== 200; i++) status = (await post()).statusCode;
    expect(status).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const station = await registry.getStation(EUI);
    expect(station?.reported?.package).toBe('1.0.0');
  });
});
