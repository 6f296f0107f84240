import { auditedTransaction, insertAuditRow, type AuditFor } from './audit-row.js';
import type { Selectable } from 'kysely';
import { conflict } from '../core/errors.js';
import type { Role } from '../core/roles.js';
import type { AccessStore, ApiKeyInfo, AuditEntry, AuditQuery, NewApiKey, NewAuditEntry } from './access-types.js';
import type { RegistryBackend } from './backend.js';
import { idWindow, newestFirst, newestFirstPage } from './cursor.js';
import type { ApiKeysTable, AuditLogTable } from './db-schema.js';
import { BackendStore } from './backend-store.js';
import { isUniqueViolation } from './db-errors.js';
import type { Page } from './fleet-types.js';
import { millis, num } from './row-mapping.js';

/** AccessStore over the registry's database. */
export class KyselyAccessStore extends BackendStore implements AccessStore {
  constructor(backend: RegistryBackend) {
    super(backend, backend.db);
  }

  addApiKey(key: NewApiKey, at: Date, audit?: AuditFor<ApiKeyInfo>): Promise<ApiKeyInfo> {
    return this.run((db) => auditedTransaction(db, audit, async (db) => {
      const row = {
        id: key.id,
        name: key.name,
        role: key.role,
        hash: key.hash,
        created_at: millis(at),
        created_by: key.createdBy,
        expires_at: key.expiresAt === null ? null : millis(key.expiresAt),
        revoked_at: null,
      };
      try {
        await db.insertInto('api_keys').values(row).execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict('api_key_exists', `An API key with id ${key.id} already exists.`, { id: key.id });
        throw e;
      }
      return toApiKey(row);
    }));
  }

  findApiKey(id: string): Promise<(ApiKeyInfo & { readonly hash: string }) | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : { ...toApiKey(row), hash: row.hash };
    });
  }

  listApiKeys(): Promise<ApiKeyInfo[]> {
    return this.run(async (db) => {
      const rows = await db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
      return rows.map(toApiKey);
    });
  }

  revokeApiKey(id: string, at: Date, audit?: AuditFor<boolean>): Promise<boolean> {
    return this.run((db) => auditedTransaction(db, audit, async (trx) => {
      const result = await trx
        .updateTable('api_keys')
        .set({ revoked_at: millis(at) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    }));
  }

  countApiKeys(): Promise<number> {
    return this.run(async (db) => {
      const row = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      return num(row.n);
    });
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.run((db) => insertAuditRow(db, entry));
  }

  queryAudit(query: AuditQuery): Promise<Page<AuditEntry>> {
    const window = idWindow(query, 'audit');
    return this.run(async (db) => {
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .$if(query.action !== undefined, (q) => q.where('action', '=', query.action as string))
        .$if(query.actor !== undefined, (q) => q.where('actor', '=', query.actor as string))
        .$if(query.target !== undefined, (q) => q.where('target', '=', query.target as string))
        .$call((q) => newestFirst(q, window))
        .execute();
      return newestFirstPage(rows, window, toAudit);
    });
  }
}

function toApiKey(row: Omit<Selectable<ApiKeysTable>, 'hash'> & { hash?: string }): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    createdAt: new Date(num(row.created_at)),
    createdBy: row.created_by,
    expiresAt: row.expires_at === null ? null : new Date(num(row.expires_at)),
    revokedAt: row.revoked_at === null ? null : new Date(num(row.revoked_at)),
  };
}

function toAudit(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: num(row.id),
    at: new Date(num(row.at)),
    actor: row.actor,
    actorKeyId: row.actor_key_id,
    role: row.role as Role,
    via: row.via,
    remoteAddress: row.remote_address,
    action: row.action,
    target: row.target,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}
