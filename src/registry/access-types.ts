import type { AuditFor } from './audit-row.js';
import type { Role } from '../core/roles.js';
import type { Page } from './fleet-types.js';

/** An API key as listed: never its secret, never its hash. */
export interface ApiKeyInfo {
  /** Public identifier, the part of the key before the dot. */
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: Date;
  /** Who created it (actor name), null for the first-start key. */
  readonly createdBy: string | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface NewApiKey {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** SHA-256 of the secret part, lowercase hex. */
  readonly hash: string;
  readonly createdBy: string | null;
  readonly expiresAt: Date | null;
}

/** One recorded change: who, what, when, from where. Never secrets. */
export interface AuditEntry {
  readonly id: number;
  readonly at: Date;
  /** Key name, or the local user for the CLI's direct mode. */
  readonly actor: string;
  readonly actorKeyId: string | null;
  readonly role: Role;
  /** api, cli or server. */
  readonly via: string;
  readonly remoteAddress: string | null;
  /** Dotted verb, e.g. station.create, apikey.revoke. */
  readonly action: string;
  /** What it acted on (an EUI, a key id), or null. */
  readonly target: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

export interface AuditQuery {
  readonly action?: string;
  readonly actor?: string;
  readonly target?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** API keys and the audit log, in the registry's database. */
export interface AccessStore {
  /** Throws conflict `api_key_exists` when the id is taken. */
  addApiKey(key: NewApiKey, at: Date, audit?: AuditFor<ApiKeyInfo>): Promise<ApiKeyInfo>;
  /** The key with its hash, for authentication; undefined when unknown. */
  findApiKey(id: string): Promise<(ApiKeyInfo & { readonly hash: string }) | undefined>;
  /** All keys, newest first, revoked ones included. */
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Marks the key revoked; false when unknown or already revoked. */
  revokeApiKey(id: string, at: Date, audit?: AuditFor<boolean>): Promise<boolean>;
  /** How many keys exist, revoked or not. */
  countApiKeys(): Promise<number>;
  /** A row of its own, for a change outside this database (blob files, PKI files); a registry change passes its row to its write. */
  appendAudit(entry: NewAuditEntry): Promise<void>;
  /** Most recent first. */
  queryAudit(query: AuditQuery): Promise<Page<AuditEntry>>;
}
