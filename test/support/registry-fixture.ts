import { existsSync } from 'node:fs';
import { createRegistryStores } from '../../src/registry/index.js';

/**
 * Only `serve` and `pki init` create a registry (src/cli/registry-required.ts); other
 * commands refuse a missing one. Tests that drive the CLI on a registry of their own,
 * without a server, get it created here first, as a server would have: a plain SQLite
 * file path in BSCUPS_DATABASE that does not exist yet. The refusal itself is tested
 * without this (test/cli-registry-required.test.ts).
 */
export async function ensureTestRegistry(env: Record<string, string>): Promise<void> {
  const db = env['BSCUPS_DATABASE'];
  if (db === undefined || db === ':memory:' || /^[a-z][a-z0-9+.-]+:/i.test(db) || existsSync(db)) return;
  const stores = await createRegistryStores(db);
  try {
    await stores.registry.migrate();
  } finally {
    await stores.registry.close();
  }
}
