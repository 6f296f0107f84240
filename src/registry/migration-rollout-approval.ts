import { sql, type Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';

/**
 * 0020_rollout_approval: who may approve a rollout, and how it was decided.
 * - rollouts.created_by_identity: the creator as approvals compare identities
 *   (core/rollout.ts approverIdentity): an approval by the same identity is refused.
 * - rollouts.approval, approved_by, approved_at: 'approved' or 'denied', by whom, when.
 * - The CHECK on rollouts.state is dropped: the states are the code's
 *   (core/rollout.ts ROLLOUT_STATES, checked by every write path), and a new one
 *   (waiting_for_approval here) would otherwise need the table rebuilt each time.
 *   PostgreSQL drops the constraint; SQLite cannot alter a constraint and rebuilds the
 *   table. Its children reference it with ON DELETE CASCADE: where foreign keys are on
 *   (they cannot be turned off inside a transaction) dropping the old table empties
 *   them, so they are copied aside first and put back after, whichever way it ran.
 */
export async function rolloutApproval(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  if (flavour === 'postgres') {
    await sql`alter table rollouts drop constraint if exists rollouts_state_check`.execute(db);
    await db.schema.alterTable('rollouts').addColumn('created_by_identity', 'text').execute();
    await db.schema.alterTable('rollouts').addColumn('approval', 'text').execute();
    await db.schema.alterTable('rollouts').addColumn('approved_by', 'text').execute();
    await db.schema.alterTable('rollouts').addColumn('approved_at', 'bigint').execute();
    return;
  }
  const columns = sql.raw(
    'id, name, kind, change, selector, plan, wave_sizes, state, wave, wave_started_at, wave_passed_at, halt_reason, rollback_of, created_by, created_at, updated_at, version',
  );
  await sql`create table rollouts_0020 (
    id text primary key, name text, kind text not null, change text not null, selector text not null, plan text not null,
    wave_sizes text not null, state text not null, wave integer not null, wave_started_at bigint, wave_passed_at bigint,
    halt_reason text, rollback_of text, created_by text not null, created_at bigint not null, updated_at bigint not null,
    version integer not null, created_by_identity text, approval text, approved_by text, approved_at bigint)`.execute(db);
  await sql`insert into rollouts_0020 (${columns}) select ${columns} from rollouts`.execute(db);
  const children = ['rollout_members', 'rollout_claims', 'rollout_events'];
  for (const t of children) await sql`create table ${sql.id(`${t}_0020`)} as select * from ${sql.id(t)}`.execute(db);
  await sql`drop table rollouts`.execute(db);
  await sql`alter table rollouts_0020 rename to rollouts`.execute(db);
  await db.schema.createIndex('rollouts_state').on('rollouts').columns(['state', 'id']).execute();
  for (const t of children) {
    // Emptied by the cascade when foreign keys were on; untouched when the runner turned them off.
    await sql`delete from ${sql.id(t)}`.execute(db);
    await sql`insert into ${sql.id(t)} select * from ${sql.id(`${t}_0020`)}`.execute(db);
    await sql`drop table ${sql.id(`${t}_0020`)}`.execute(db);
  }
}
