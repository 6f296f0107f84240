import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createRegistry, type RegistryOptions } from '../../src/registry/index.js';
import type { StationRegistry } from '../../src/registry/types.js';
import { createTestSchema, shouldRunPostgresSuite } from './postgres.js';

/** A fresh, empty store. */
export interface Store {
  readonly url: string;
  dispose(): Promise<void>;
}

/** One registry backend a conformance suite runs against. */
export interface Driver {
  readonly name: string;
  readonly skip: boolean;
  /** Whether a second registry opened on the same URL sees the same data. */
  readonly shared: boolean;
  /** Options every registry of this driver is opened with (the in-memory cache). */
  readonly options?: RegistryOptions;
  setup?(): void;
  teardown?(): void;
  fresh(): Promise<Store>;
}

/** The cache as a server runs it, with last-seen stamps batched. */
const CACHED: RegistryOptions = { cache: { lastSeenIntervalMs: 1_000 } };

/**
 * SQLite (file and :memory:) and PostgreSQL, the latter skipped loudly (or
 * failing in CI) when unreachable; then SQLite file and PostgreSQL again behind
 * the in-memory registry cache, which must behave the same.
 */
export async function registryDrivers(suite: string): Promise<Driver[]> {
  const plain = await plainDrivers(suite);
  const cached = plain
    .filter((d) => d.name !== 'SQLite :memory:')
    .map((d): Driver => ({ ...d, name: `${d.name}, cached`, options: CACHED }));
  return [...plain, ...cached];
}

/** The registry (and its store) a suite's current test runs against. */
export interface RegistryPerTest {
  readonly registry: StationRegistry;
  readonly store: Store;
}

/**
 * Registers a suite's hooks over `driver`: before each test a fresh store with a
 * migrated registry (the driver's options plus `options`) holding `stations`;
 * after it, both closed.
 */
export function registryPerTest(driver: Driver, options: RegistryOptions, stations: readonly string[]): RegistryPerTest {
  let store: Store | undefined;
  let registry: StationRegistry | undefined;
  beforeAll(() => driver.setup?.());
  afterAll(() => driver.teardown?.());
  beforeEach(async () => {
    store = await driver.fresh();
    registry = await createRegistry(store.url, { ...driver.options, ...options });
    await registry.migrate();
    for (const eui of stations) await registry.createStation({ eui });
  });
  afterEach(async () => {
    await registry?.close();
    await store?.dispose();
  });
  return {
    get registry() {
      if (registry === undefined) throw new Error('no registry outside a test');
      return registry;
    },
    get store() {
      if (store === undefined) throw new Error('no store outside a test');
      return store;
    },
  };
}

async function plainDrivers(suite: string): Promise<Driver[]> {
  const pgRuns = await shouldRunPostgresSuite(suite);
  let tempDir = '';
  let fileCounter = 0;
  return [
    {
      name: 'SQLite file',
      skip: false,
      shared: true,
      setup: () => (tempDir = mkdtempSync(join(tmpdir(), 'cups-registry-'))),
      teardown: () => rmSync(tempDir, { recursive: true, force: true }),
      fresh: () =>
        Promise.resolve({
          url: `sqlite:${join(tempDir, `nested/dir-${++fileCounter}`, 'registry.db')}`,
          dispose: () => Promise.resolve(),
        }),
    },
    {
      name: 'SQLite :memory:',
      skip: false,
      shared: false,
      fresh: () => Promise.resolve({ url: ':memory:', dispose: () => Promise.resolve() }),
    },
    {
      name: 'PostgreSQL',
      skip: !pgRuns,
      shared: true,
      fresh: async () => {
        const s = await createTestSchema();
        return { url: s.url, dispose: s.drop };
      },
    },
  ];
}
