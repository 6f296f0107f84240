import type { Kysely } from 'kysely';

/**
 * 0017_health_soak: a rollout member's health soak (core/rollout-soak.ts).
 * `soak_from` is the exchange its soak runs from (null before the change was
 * delivered, or without a soak); `report_due` is 1 for a member confirmed by a
 * quiet soak whose station has not reported the change yet. The soak's length
 * is part of the rollout's plan (JSON), absent (off) in rollouts made before.
 */
export async function healthSoakColumns(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rollout_members').addColumn('soak_from', 'bigint').execute();
  await db.schema.alterTable('rollout_members').addColumn('report_due', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
