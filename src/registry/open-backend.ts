import type { BackendOptions, RegistryBackend } from './backend.js';
import { parseRegistryUrl } from './registry-url.js';

/** Picks and builds the backend a registry URL names; drivers are imported only when chosen. */
export async function createRegistryBackend(url: string, options: BackendOptions): Promise<RegistryBackend> {
  const location = parseRegistryUrl(url);
  if (location.kind === 'postgres') {
    const { openPostgresBackend } = await import('./postgres-backend.js');
    return openPostgresBackend(location, options);
  }
  const { openSqliteBackend } = await import('./sqlite-backend.js');
  return openSqliteBackend(location.path, location.display, options);
}
