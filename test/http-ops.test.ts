import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { CupsError } from '../src/core/errors.js';
import { createApp } from '../src/http/app.js';
import { encodeStationRequestBody } from '../src/protocol/index.js';
import { exampleRequest } from './support/fixtures.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';

const EUI = '0016C001FF10A235';
const body = (router = EUI) =>
  encodeStationRequestBody(exampleRequest({ router, keys: [] }));

let registry: StationRegistry;
let app: FastifyInstance;

beforeAll(async () => {
  registry = await createRegistry(':memory:');
  await registry.migrate();
  await registry.createStation({ eui: EUI, desired: { tcUri: 'ws://127.0.0.1:6092' } });
  app = await createApp({ registry, blobs: createMemoryBlobStore(), logger: pino({ level: 'silent' }), allowUnauthenticated: true });
});
afterAll(async () => {
  await app.close();
  await registry.close();
});

const post = (payload: string) => app.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload });

describe('operations endpoints', () => {
  it('/healthz answers while the process is up', async () => {
    const r = await app.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(200);
  });

  it('/readyz checks the registry and the blob store', async () => {
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ready: true, registry: 'ok', blobs: 'ok' });
  });

  it('/metrics counts outcomes, what was sent, latency and stations seen', async () => {
    expect((await post(body())).statusCode).toBe(200);
    expect((await post(body('0016C001FF10FFFF'))).statusCode).toBe(404);
    expect((await post('{"router":1}')).statusCode).toBe(400);
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/bscups_update_info_requests_total\{outcome="ok"\} 1\b/);
    expect(text).toMatch(/bscups_update_info_requests_total\{outcome="unknown_station"\} 1\b/);
    expect(text).toMatch(/bscups_update_info_requests_total\{outcome="invalid"\} 1\b/);
    expect(text).toMatch(/bscups_sent_total\{part="tcUri"\} 1\b/);
    expect(text).toMatch(/bscups_stations_seen\{registered="true"\} 1\b/);
    expect(text).toMatch(/bscups_stations_seen\{registered="false"\} 1\b/);
    expect(text).toMatch(/bscups_update_info_duration_seconds_count 3\b/);
  });
});

describe('exchange log', () => {
  it('writes one line per exchange with the EUI and what was sent, as a warning when unauthenticated', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const logged = await createApp({ registry, blobs: createMemoryBlobStore(), logger, allowUnauthenticated: true });
    try {
      const r = await logged.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload: body() });
      expect(r.statusCode).toBe(200);
      const exchange = lines.filter((l) => l.eui === EUI);
      expect(exchange).toHaveLength(1);
      expect(exchange[0]).toMatchObject({ level: 40, unauthenticated: true, status: 200, sent: ['tcUri'] });
    } finally {
      await logged.close();
    }
  });
});

describe('when the registry is down', () => {
  it('answers update-info and /readyz with 503, not a hang or a 404', async () => {
    const down: StationRegistry = new Proxy(registry, {
      get(target, prop, receiver) {
        if (prop === 'getStation' || prop === 'getStationAuth' || prop === 'ping' || prop === 'recordUnknown') {
          return async () => {
            throw new CupsError('registry_unavailable', 'unavailable', 'cannot reach the registry database');
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const broken = await createApp({ registry: down, blobs: createMemoryBlobStore(), logger: pino({ level: 'silent' }), allowUnauthenticated: true });
    try {
      const r = await broken.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload: body() });
      expect(r.statusCode).toBe(503);
      expect(r.body).toContain('registry_unavailable');
      expect((await broken.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await broken.close();
    }
  });
});
