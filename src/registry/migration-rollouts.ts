import { sql, type Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';

/**
 * 0006_rollouts: the firmware library and fleet rollouts.
 * - firmware_packages: a verified update stored once, with its signatures and the
 *   models it is built for, that stations and rollouts are targeted at by version.
 * - rollouts: one row per rollout; `version` is bumped by every change, and a
 *   change is written only `where version = <the version it was decided on>`:
 *   that conditional update is what makes the rollout advance exactly once when
 *   several replicas evaluate it (operations/rollout-engine.ts).
 * - rollout_members: every station of a rollout, its wave, state and the desired
 *   configuration it had before the rollout changed it (for rollback).
 * - rollout_claims: one row per station held by an active rollout; the primary
 *   key is what keeps a station out of two active rollouts at once.
 * - rollout_events: the rollout's own history (waves started, gates, members).
 */
export async function rolloutTables(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  await db.schema
    .createTable('firmware_packages')
    .addColumn('package', 'text', (c) => c.primaryKey())
    .addColumn('blob', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('signatures', 'text', (c) => c.notNull())
    .addColumn('models', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rollouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('selector', 'text', (c) => c.notNull())
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('wave_sizes', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('running', 'paused', 'halted', 'completed', 'aborted', 'rolled_back')`),
    )
    .addColumn('wave', 'integer', (c) => c.notNull())
    .addColumn('wave_started_at', 'bigint')
    .addColumn('wave_passed_at', 'bigint')
    .addColumn('halt_reason', 'text')
    .addColumn('rollback_of', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rollouts_state').on('rollouts').columns(['state', 'id']).execute();

  await db.schema
    .createTable('rollout_members')
    .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
    .addColumn('eui', 'text', (c) => c.notNull())
    .addColumn('wave', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('previous', 'text')
    .addColumn('offered_at', 'bigint')
    .addColumn('deadline_at', 'bigint')
    .addColumn('done_at', 'bigint')
    .addPrimaryKeyConstraint('rollout_members_pk', ['rollout_id', 'eui'])
    .execute();
  await db.schema.createIndex('rollout_members_eui').on('rollout_members').column('eui').execute();

  await db.schema
    .createTable('rollout_claims')
    .addColumn('eui', 'text', (c) => c.primaryKey())
    .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
    .execute();
  await db.schema.createIndex('rollout_claims_rollout').on('rollout_claims').column('rollout_id').execute();

  await db.schema
    .createTable('rollout_events')
    .$call((t) =>
      flavour === 'sqlite'
        ? t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        : t.addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity()),
    )
    .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('wave', 'integer')
    .addColumn('eui', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rollout_events_rollout_id').on('rollout_events').columns(['rollout_id', 'id']).execute();
}
