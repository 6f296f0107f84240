import { sql, type RawBuilder } from 'kysely';
import type { SyncState } from '../core/sync-status.js';

// The SQL mirror of core/sync-status.ts syncState over `stations s left join
// firmware_targets f`; test/fleet-sync-state.test.ts checks both agree. Written
// with plain CASE/COALESCE so SQLite and PostgreSQL read it the same way.

/** A desired credential counts only when blob, crc and size are all set (row-mapping.ts credential). */
function credPending(prefix: 'cups' | 'tc'): RawBuilder<boolean> {
  const blob = sql.ref(`s.${prefix}_cred_blob`);
  const crc = sql.ref(`s.${prefix}_cred_crc`);
  const size = sql.ref(`s.${prefix}_cred_size`);
  const reported = sql.ref(`s.reported_${prefix}_cred_crc`);
  return sql<boolean>`(${blob} is not null and ${crc} is not null and ${size} is not null and coalesce(${reported}, 0) <> ${crc})`;
}

function uriPending(prefix: 'cups' | 'tc'): RawBuilder<boolean> {
  const desired = sql.ref(`s.${prefix}_uri`);
  const reported = sql.ref(`s.reported_${prefix}_uri`);
  return sql<boolean>`(${desired} is not null and (${reported} is null or ${reported} <> ${desired}))`;
}

export const configPendingSql: RawBuilder<boolean> = sql<boolean>`(${uriPending('cups')} or ${uriPending('tc')} or ${credPending('cups')} or ${credPending('tc')})`;

export const syncStateSql: RawBuilder<SyncState> = sql<SyncState>`(case
  when s.reported_at is null then 'never_seen'
  when s.problem is not null then 'problem'
  when f.state = 'failed' then 'failed'
  when ${configPendingSql} then 'pending_config'
  when f.state = 'offered' then 'offered'
  when f.state = 'pending' then 'pending_firmware'
  else 'in_sync' end)`;
