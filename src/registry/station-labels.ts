import type { Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';

/**
 * Replaces the label rows of one station with `labels`. Called in the same
 * transaction that writes the JSON column, so filters (which read the rows) and
 * reads of the twin (which read the JSON) never disagree.
 */
export async function writeLabelRows(db: Kysely<RegistryDatabase>, eui: string, labels: Readonly<Record<string, string>>): Promise<void> {
  await db.deleteFrom('station_labels').where('eui', '=', eui).execute();
  const rows = Object.entries(labels).map(([key, value]) => ({ eui, key, value }));
  if (rows.length > 0) await db.insertInto('station_labels').values(rows).execute();
}
