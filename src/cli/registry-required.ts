import { existsSync } from 'node:fs';
import { notFound } from '../core/errors.js';
import { parseRegistryUrl } from '../registry/registry-url.js';

/**
 * Only `serve` and `pki init` create a registry. Any other command run where no
 * registry is (another folder than the server's, a mistyped --database) would
 * otherwise create a new empty one and answer from it ("(none)"), so it fails
 * instead, naming the path it looked at and how to point at the right one.
 * PostgreSQL needs no check: a database that is not there fails to connect.
 */
export function requireExistingRegistry(database: string, source: 'flag' | 'env' | 'default'): void {
  const location = parseRegistryUrl(database);
  if (location.kind !== 'sqlite' || location.path === ':memory:' || existsSync(location.path)) return;
  const why =
    source === 'flag' ? 'given by --database' : source === 'env' ? 'given by BSCUPS_DATABASE' : `the default ./data/registry.sqlite in the folder this runs in (${process.cwd()})`;
  throw notFound(
    'registry_not_found',
    `no station registry at ${location.path} (${why}); only "bscups serve" and "bscups pki init" create one. ` +
      'Run bscups in the folder the server runs in, or point at its registry with --database PATH (or BSCUPS_DATABASE=PATH), ' +
      'or at the running server with --server URL --api-key KEY (or BSCUPS_SERVER and BSCUPS_API_KEY)',
    { field: source === 'flag' ? '--database' : 'database', path: location.path },
  );
}
