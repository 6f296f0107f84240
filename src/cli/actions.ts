import type { KeyObject } from 'node:crypto';
import type { z } from 'zod';
import type * as A from '../http/admin/action-schemas.js';
import type * as I from '../http/admin/import-schemas.js';
import type * as R from '../http/admin/rollout-schemas.js';
import type * as S from '../http/admin/schemas.js';
import type * as W from '../http/admin/webhook-schemas.js';
import type { AuditListInput } from '../operations/audit.js';
import type { StationListInput } from '../operations/station-filters.js';
import type { RotateBody, Rotated, StationAuthBody } from '../http/admin/routes/station-actions.js';

// What an operator can do, as one interface with two implementations: local
// (direct registry and blob store, acting as local:<user>) and remote (the admin
// API with a key). Every method answers the admin API's JSON, so a command prints
// the same human output, --json and exit code in both modes. Commands are
// adapters over this; a new command adds its method here and in both modes.

export type StationJson = z.infer<typeof S.Station>;
export type EventJson = z.infer<typeof S.Event>;
export type StationAuthJson = z.infer<typeof StationAuthBody>;
export type PageJson<T> = { items: T[]; nextCursor: string | null };

export interface RolloutListArgs {
  readonly state?: readonly string[];
  readonly limit?: number;
  readonly cursor?: string;
}

export interface RolloutMemberArgs {
  /** Member states, e.g. failed (failed and lost). */
  readonly state?: readonly string[];
  readonly wave?: number;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface RolloutEventArgs {
  readonly type?: readonly string[];
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
  readonly cursor?: string;
}

/** An update file to upload, with its signatures; `signWith` keys sign it on this host (never sent anywhere). */
export interface FirmwareFileArgs {
  readonly package: string;
  readonly path: string;
  readonly size: number;
  readonly signatures: readonly { readonly keyCrc: number; readonly signature: Buffer; readonly label: string }[];
  /** sig-N.key (64 bytes) for signatures whose key is not registered. */
  readonly publicKeys: readonly Buffer[];
  readonly signWith: readonly KeyObject[];
  readonly onProgress?: (bytes: number) => void;
}

export interface FirmwareTargetArgs {
  readonly stations: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly maxOffers: number;
  readonly allowDowngrade: boolean;
  /** With a file: target stations an active firmware rollout holds (the rollout records it). */
  readonly force?: boolean;
}

/** An import file as read from disk or stdin; its format given (--format) or detected by the operation from its name and content. */
export interface ImportFileArgs {
  /** The file's text (stdin), or */
  readonly text?: string;
  /** the file to read as a stream. */
  readonly path?: string;
  readonly format?: string;
  readonly fileName?: string;
  readonly dryRun: boolean;
  readonly batchSize?: number;
  /** Apply an authMode even where the station holds no credential for it. */
  readonly force?: boolean;
}

/** A piece of the export file, with how many stations it holds. */
export interface ExportChunk {
  readonly text: string;
  readonly stations: number;
}

/** What only the local mode takes: the server's own PKI folder is the one a remote call uses. */
export interface LocalOnly {
  readonly pkiDir?: string;
}

export interface OperatorActions {
  /** `local` (direct database) or `remote` (the admin API). */
  readonly mode: 'local' | 'remote';

  /** The listing as the flags give it: the same strings the operation (and the API's query) takes. */
  listStations(args: StationListInput): Promise<PageJson<StationJson>>;
  registerStation(input: z.input<typeof S.StationCreate>): Promise<StationJson>;
  showStation(eui: string): Promise<StationJson>;
  changeStation(eui: string, change: z.input<typeof S.StationPatch>): Promise<StationJson>;
  removeStation(eui: string): Promise<z.infer<typeof S.Removed>>;
  stationEvents(eui: string, args: { readonly limit: number }): Promise<PageJson<EventJson>>;
  unknownStations(args: { limit?: number; cursor?: string }): Promise<PageJson<z.infer<typeof S.UnknownStation>>>;
  /** Registers or updates the stations of an import file: a report per row. */
  importStations(file: ImportFileArgs): Promise<z.infer<typeof I.ImportResult>>;
  /** Every station as an import file (csv or jsonl), in EUI order; the format is checked before the first read. */
  exportStations(format: string | undefined, options?: { readonly spreadsheetSafe?: boolean }): AsyncIterable<ExportChunk>;

  stationAuth(eui: string): Promise<StationAuthJson>;
  stationCompliance(eui: string): Promise<z.infer<typeof S.StationCompliance>>;
  setAuthMode(eui: string, mode: string, force?: boolean): Promise<StationAuthJson>;
  /** A CUPS credential is checked against the server's PKI folder (`local.pkiDir` in local mode) unless `input.force`. */
  setCredential(eui: string, input: z.input<typeof A.CredentialSet>, local?: LocalOnly): Promise<z.infer<typeof A.CredentialSetResult>>;
  /** Issues a certificate or token; the station files come back only when `files` is asked for. */
  issueCredentials(eui: string, kind: 'certificate' | 'token', input: z.input<typeof A.IssueRequest>, local?: LocalOnly): Promise<z.infer<typeof A.Issued>>;
  rotateCredential(eui: string, input: z.input<typeof RotateBody>, local?: LocalOnly): Promise<z.infer<typeof Rotated>>;
  revokeCredential(eui: string, input: z.input<typeof A.RevokeRequest>): Promise<z.infer<typeof A.Revoked>>;

  listSigningKeys(): Promise<z.infer<typeof S.SigningKey>[]>;
  addSigningKey(input: z.input<typeof A.SigningKeyAdd>): Promise<z.infer<typeof S.SigningKey>>;
  removeSigningKey(crc: number): Promise<z.infer<typeof A.SigningKeyRemoved>>;

  uploadPackage(file: FirmwareFileArgs, models: readonly string[]): Promise<z.infer<typeof R.FirmwarePackageUploaded>>;
  listPackages(): Promise<z.infer<typeof R.FirmwarePackage>[]>;
  showPackage(pkg: string): Promise<z.infer<typeof R.FirmwarePackageDetail>>;
  removePackage(pkg: string): Promise<z.infer<typeof R.PackageRemoved>>;
  targetPackage(pkg: string, target: FirmwareTargetArgs): Promise<z.infer<typeof R.PackageTargeted>>;
  /** Uploads an update outside the library and targets stations at it. */
  upgradeFirmware(file: FirmwareFileArgs, target: FirmwareTargetArgs): Promise<z.infer<typeof A.FirmwareUpgraded>>;
  firmwareStatus(args: { readonly stations: readonly string[]; readonly labels: readonly string[] }): Promise<z.infer<typeof A.FirmwareStatus>[]>;
  retryFirmware(eui: string): Promise<StationJson>;

  createRollout(input: z.input<typeof R.RolloutCreate>): Promise<z.infer<typeof R.Rollout>>;
  listRollouts(args: RolloutListArgs): Promise<PageJson<z.infer<typeof R.Rollout>>>;
  showRollout(id: string): Promise<z.infer<typeof R.Rollout>>;
  rolloutMembers(id: string, args: RolloutMemberArgs): Promise<PageJson<z.infer<typeof R.RolloutMember>>>;
  rolloutEvents(id: string, args: RolloutEventArgs): Promise<PageJson<z.infer<typeof R.RolloutEvent>>>;
  controlRollout(id: string, action: 'pause' | 'resume' | 'abort'): Promise<z.infer<typeof R.Rollout>>;
  rollbackRollout(id: string, input: z.input<typeof R.RollbackBody>): Promise<z.infer<typeof R.RollbackResult>>;
  decideRollout(id: string, decision: 'approve' | 'deny'): Promise<z.infer<typeof R.Rollout>>;
  retryRollout(id: string, input: z.input<typeof R.RetryBody>): Promise<z.infer<typeof R.RetryResult>>;

  collectBlobs(input: z.input<typeof A.BlobsGcRequest>): Promise<z.infer<typeof A.BlobsGcResult>>;

  fleetSummary(args: { readonly silentAfter?: string }): Promise<z.infer<typeof S.FleetSummary>>;
  createApiKey(input: z.input<typeof S.ApiKeyCreate>): Promise<z.infer<typeof S.ApiKeyCreated>>;
  listApiKeys(): Promise<z.infer<typeof S.ApiKey>[]>;
  revokeApiKey(id: string): Promise<z.infer<typeof S.ApiKey>>;
  listAudit(args: AuditListInput): Promise<PageJson<z.infer<typeof S.AuditEntry>>>;

  addWebhook(input: z.input<typeof W.WebhookCreate>): Promise<z.infer<typeof W.Webhook>>;
  listWebhooks(): Promise<z.infer<typeof W.Webhook>[]>;
  removeWebhook(id: string): Promise<z.infer<typeof W.Webhook>>;
  testWebhook(id: string): Promise<z.infer<typeof W.WebhookTestQueued>>;
  webhookDeliveries(args: { readonly webhook?: string; readonly failed?: boolean }): Promise<z.infer<typeof W.WebhookDelivery>[]>;
}
