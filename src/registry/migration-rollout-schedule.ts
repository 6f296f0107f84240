import { sql, type Kysely } from 'kysely';
import type { SqlFlavour } from './migrations.js';

/**
 * 0019_rollout_schedule: a rollout may be `scheduled` (created now, started by
 * the engine at its plan's startAt). The start time and the time windows live
 * in the plan's JSON; only the state check of `rollouts` changes.
 */
export async function rolloutSchedule(db: Kysely<unknown>, flavour: SqlFlavour): Promise<void> {
  await allowRolloutStates(db, flavour, ['scheduled']);
}

/**
 * Adds states to the check on `rollouts.state`, keeping every state it allows
 * now (whichever migrations added them, in whatever order they ran).
 *
 * PostgreSQL replaces the constraint. SQLite cannot alter a check, so the table
 * is rebuilt from its own CREATE statement with only the list changed (every
 * column any migration added is kept), copied, and swapped in; its indexes are
 * created again (and its triggers). The registry runs SQLite migrations with foreign keys off
 * (sqlite-backend.ts) so that dropping the old table does not cascade to the
 * members, claims and events that refer to it, and checks them before committing.
 */
export async function allowRolloutStates(db: Kysely<unknown>, flavour: SqlFlavour, add: readonly string[]): Promise<void> {
  for (const s of add) if (!/^[a-z_]+$/.test(s)) throw new Error(`allowRolloutStates: "${s}" is not a state name`);
  if (flavour === 'postgres') {
    const row = await sql<{ def: string }>`select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'rollouts'::regclass and conname = 'rollouts_state_check'`.execute(db);
    const def = row.rows[0]?.def;
    if (def === undefined) throw new Error('rollouts has no rollouts_state_check constraint to extend');
    const states = merged([...def.matchAll(/'([a-z_]+)'/g)].map((m) => m[1] as string), add);
    await sql`alter table rollouts drop constraint rollouts_state_check`.execute(db);
    await sql`alter table rollouts add constraint rollouts_state_check check (state in (${sql.raw(quoted(states))}))`.execute(db);
    return;
  }
  const objects = (await sql<{ type: string; name: string; sql: string | null }>`select type, name, sql from sqlite_master where tbl_name = 'rollouts'`.execute(db)).rows;
  const table = objects.find((o) => o.type === 'table')?.sql;
  const check = table === undefined || table === null ? null : /check\s*\(\s*"?state"?\s+in\s*\(([^)]*)\)\s*\)/i.exec(table);
  if (table === undefined || table === null || check === null) throw new Error('rollouts has no state check to extend');
  const states = merged([...(check[1] as string).matchAll(/'([a-z_]+)'/g)].map((m) => m[1] as string), add);
  const rebuilt = table
    .replace(check[0], `check (state in (${quoted(states)}))`)
    .replace(/^create table\s+("?)rollouts\1/i, 'create table "rollouts_rebuilt"');
  if (!rebuilt.startsWith('create table "rollouts_rebuilt"')) throw new Error('rollouts: unexpected CREATE TABLE statement');
  await sql.raw(rebuilt).execute(db);
  await sql`insert into rollouts_rebuilt select * from rollouts`.execute(db);
  await sql`drop table rollouts`.execute(db);
  await sql`alter table rollouts_rebuilt rename to rollouts`.execute(db);
  for (const o of objects) if ((o.type === 'index' || o.type === 'trigger') && o.sql !== null) await sql.raw(o.sql).execute(db);
}

function merged(current: readonly string[], add: readonly string[]): string[] {
  return [...new Set([...current, ...add])];
}

function quoted(states: readonly string[]): string {
  return states.map((s) => `'${s}'`).join(', ');
}
