import type { Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { toUnknown, unknownColumns, type UnknownSighting } from './row-mapping.js';
import type { UnknownStation } from './types.js';

/** Inserts the first knock or, in the same statement, counts another one. */
export async function upsertUnknown(
  db: Kysely<RegistryDatabase>,
  eui: string,
  seen: UnknownSighting,
): Promise<void> {
  await db
    .insertInto('unknown_stations')
    .values(unknownColumns(eui, seen))
    .onConflict((oc) =>
      oc.column('eui').doUpdateSet((eb) => ({
        count: eb('unknown_stations.count', '+', 1),
        last_seen_at: eb.ref('excluded.last_seen_at'),
        last_remote_address: eb.ref('excluded.last_remote_address'),
        last_request: eb.ref('excluded.last_request'),
      })),
    )
    .execute();
}

/** Unregistered EUIs, most recent first. */
export async function selectUnknown(db: Kysely<RegistryDatabase>): Promise<UnknownStation[]> {
  const rows = await db
    .selectFrom('unknown_stations')
    .selectAll()
    // createStation deletes the row, but a knock racing with the registration can
    // re-insert it; a registered station is never unknown.
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('stations').select('stations.eui').whereRef('stations.eui', '=', 'unknown_stations.eui'))),
    )
    .orderBy('last_seen_at', 'desc')
    .orderBy('eui')
    .execute();
  return rows.map(toUnknown);
}
