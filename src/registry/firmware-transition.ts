import type { Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { millis, toFirmware } from './row-mapping.js';
import type { FirmwareTarget, FirmwareTransition } from './types.js';

/**
 * Applies a firmware transition in one conditional UPDATE: it only touches the
 * target when it still names `transition.package`, and the offer counter is
 * incremented by the database, so concurrent exchanges from several server
 * replicas never lose an offer. Returns the target after the change, or null when
 * there is no target or it names another package.
 */
export async function applyFirmwareTransition(
  db: Kysely<RegistryDatabase>,
  eui: string,
  transition: FirmwareTransition,
  at: Date,
  resetOffers: boolean,
): Promise<FirmwareTarget | null> {
  const { offered = false, state, lastError, upgradedAt } = transition;
  const changes = offered || resetOffers || state !== undefined || lastError !== undefined || upgradedAt !== undefined;
  if (!changes) {
    const row = await db
      .selectFrom('firmware_targets')
      .selectAll()
      .where('eui', '=', eui)
      .where('package', '=', transition.package)
      .executeTakeFirst();
    return row === undefined ? null : toFirmware(row);
  }
  const row = await db
    .updateTable('firmware_targets')
    .set((eb) => ({
      ...(offered ? { offers: resetOffers ? 1 : eb('offers', '+', 1), last_offered_at: millis(at) } : {}),
      ...(!offered && resetOffers ? { offers: 0 } : {}),
      ...(state === undefined ? {} : { state }),
      ...(lastError === undefined ? {} : { last_error: lastError }),
      ...(upgradedAt === undefined ? {} : { upgraded_at: millis(upgradedAt) }),
    }))
    .where('eui', '=', eui)
    .where('package', '=', transition.package)
    .returningAll()
    .executeTakeFirst();
  return row === undefined ? null : toFirmware(row);
}

/** The current target, whatever package it names. */
export async function currentFirmware(db: Kysely<RegistryDatabase>, eui: string): Promise<FirmwareTarget | null> {
  const row = await db.selectFrom('firmware_targets').selectAll().where('eui', '=', eui).executeTakeFirst();
  return row === undefined ? null : toFirmware(row);
}
