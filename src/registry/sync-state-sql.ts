import { sql, type RawBuilder } from 'kysely';
import type { SyncState } from '../core/sync-status.js';

// The SQL mirror of core/sync-status.ts syncState; test/fleet-queries.test.ts
// checks both agree on the same stations. It is split in two so the expensive
// half is computed once per write, not once per read:
// - `stations.config_state`, a generated column (migration 0005) over the
//   station's own columns: never_seen, problem, pending_config or ok;
// - the firmware target's state, joined in, decides the rest.
// Plain CASE/COALESCE, so SQLite and PostgreSQL read it the same way.

/** A desired credential counts only when blob, crc and size are all set (row-mapping.ts credential). */
function credPending(prefix: 'cups' | 'tc'): string {
  return `(${prefix}_cred_blob is not null and ${prefix}_cred_crc is not null and ${prefix}_cred_size is not null and coalesce(reported_${prefix}_cred_crc, 0) <> ${prefix}_cred_crc)`;
}

function uriPending(prefix: 'cups' | 'tc'): string {
  return `(${prefix}_uri is not null and (reported_${prefix}_uri is null or reported_${prefix}_uri <> ${prefix}_uri))`;
}

/** The generated column's expression, over unqualified columns of `stations`. */
export const CONFIG_STATE_EXPRESSION = `(case
  when reported_at is null then 'never_seen'
  when problem is not null then 'problem'
  when ${uriPending('cups')} or ${uriPending('tc')} or ${credPending('cups')} or ${credPending('tc')} then 'pending_config'
  else 'ok' end)`;

/** The part of the station's state its configuration decides. */
export type ConfigState = 'never_seen' | 'problem' | 'pending_config' | 'ok';

/** syncState from the config state and the firmware target state (null: no target), in the priority of core. */
export function combineState(config: ConfigState, firmware: string | null): SyncState {
  if (config === 'never_seen' || config === 'problem') return config;
  if (firmware === 'failed') return 'failed';
  if (config === 'pending_config') return 'pending_config';
  if (firmware === 'offered') return 'offered';
  if (firmware === 'pending') return 'pending_firmware';
  return 'in_sync';
}

/** combineState in SQL over `stations s left join firmware_targets f`. */
export const syncStateSql: RawBuilder<SyncState> = sql<SyncState>`(case
  when s.config_state in ('never_seen', 'problem') then s.config_state
  when f.state = 'failed' then 'failed'
  when s.config_state = 'pending_config' then 'pending_config'
  when f.state = 'offered' then 'offered'
  when f.state = 'pending' then 'pending_firmware'
  else 'in_sync' end)`;
