import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createMemoryBlobStore, type BlobStore } from '../../src/blobs/index.js';
import { DEFAULT_HEALTH } from '../../src/core/health.js';
import { createApp } from '../../src/http/app.js';
import { decodeResponse, encodeStationRequestBody } from '../../src/protocol/index.js';
import type { UpdateInfoRequest } from '../../src/protocol/types.js';
import { createRegistryStores, type RegistryStores } from '../../src/registry/index.js';
import type { Driver, Store } from './registry-drivers.js';

/** What a test opened: the registry stores, the station app in front of them, and its blob store. */
export interface StationApp {
  readonly stores: RegistryStores;
  readonly app: FastifyInstance;
  readonly blobs: BlobStore;
}

/**
 * Registers a suite's hooks over `driver` for tests that drive the real station
 * route with the server's clock injected (`clock`, default health thresholds):
 * `open` makes a fresh store with migrated registry stores and an app holding
 * `stations` (each with its desired TC URI); after each test all are closed.
 */
export function stationAppPerTest(driver: Driver, clock: () => Date): { open(stations: readonly { readonly eui: string; readonly tcUri: string }[]): Promise<StationApp> } {
  let store: Store | undefined;
  let stores: RegistryStores | undefined;
  let app: FastifyInstance | undefined;
  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());
  afterEach(async () => {
    await app?.close();
    await stores?.registry.close();
    await store?.dispose();
    app = undefined;
    stores = undefined;
    store = undefined;
  });
  return {
    async open(stations) {
      store = await driver.fresh();
      stores = await createRegistryStores(store.url, { ...(driver.options ?? {}), now: clock });
      await stores.registry.migrate();
      const blobs = createMemoryBlobStore();
      app = await createApp({ registry: stores.registry, blobs, logger: pino({ level: 'silent' }), allowUnauthenticated: true, clock, health: DEFAULT_HEALTH });
      for (const s of stations) await stores.registry.createStation({ eui: s.eui, desired: { tcUri: s.tcUri } });
      return { stores, app, blobs };
    },
  };
}

/** One exchange through the app's station route, answered 200; the decoded answer. */
export async function exchange(app: FastifyInstance, request: UpdateInfoRequest): Promise<ReturnType<typeof decodeResponse>> {
  const res = await app.inject({ method: 'POST', url: '/update-info', headers: { 'content-type': 'application/json' }, payload: encodeStationRequestBody(request) });
  expect(res.statusCode).toBe(200);
  return decodeResponse(res.rawPayload);
}
