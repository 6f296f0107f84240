import { Migrator, type Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { registryMigrations, type MigrationLogger, type SqlFlavour } from './migrations.js';

/** What the registry needs from a database: a Kysely instance and a safe way to migrate it. */
export interface RegistryBackend {
  readonly db: Kysely<RegistryDatabase>;
  readonly flavour: SqlFlavour;
  /** The database named for messages, never with its password. */
  readonly display: string;
  /** Brings the schema to the latest migration, with whatever locking the database needs. */
  migrate(): Promise<void>;
}

/** Options every backend accepts. */
export interface BackendOptions {
  readonly logger?: { warn(obj: object, msg?: string): void };
}

/**
 * Runs Kysely's migrator over the in-code migrations. Kysely reports failures in
 * the result rather than throwing; this throws, naming the migration that failed.
 * Returns how many migrations ran (0 on a database already up to date).
 */
export async function runMigrator(
  db: Kysely<RegistryDatabase>,
  flavour: SqlFlavour,
  migrationTableSchema?: string,
  logger?: MigrationLogger,
): Promise<number> {
  const migrator = new Migrator({
    db,
    provider: registryMigrations(flavour, logger),
    ...(migrationTableSchema === undefined ? {} : { migrationTableSchema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return results?.length ?? 0;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  throw new Error(failed === undefined ? `migration failed: ${reason}` : `migration ${failed} failed: ${reason}`, {
    cause: error,
  });
}
