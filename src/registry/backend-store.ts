import type { Kysely } from 'kysely';
import type { RegistryBackend } from './backend.js';
import type { RegistryDatabase } from './db-schema.js';
import { runOn } from './db-errors.js';

/**
 * A store over the registry's database: its queries run through `run`, so a
 * driver error comes out as the project's error naming the database, the same
 * in every store.
 */
export abstract class BackendStore<DB extends RegistryDatabase = RegistryDatabase> {
  protected readonly backend: RegistryBackend;
  readonly #db: Kysely<DB>;

  protected constructor(backend: RegistryBackend, db: Kysely<DB>) {
    this.backend = backend;
    this.#db = db;
  }

  protected run<T>(work: (db: Kysely<DB>) => Promise<T>): Promise<T> {
    return runOn(this.backend, this.#db, work);
  }
}
