import { z } from 'zod';
import { Station, repeated } from './schemas.js';
import { BLOBS_GC_DELETE_ROLE } from '../../operations/blobs-gc.js';

// Request and response shapes of the station credential, signing key, firmware
// targeting and blob store routes: validated by Fastify, published in the
// OpenAPI document, and the types the remote CLI reads.

const time = z.string().describe('ISO 8601 time');
const category = z.enum(['cups', 'tc']);
const fileText = z.string().min(1).max(64 * 1024).describe('PEM text, or the DER bytes in base64');

export const CredentialSet = z
  .object({
    category: category.describe('cups (this server) or tc (the LNS)'),
    trust: fileText.describe('CA certificate that verifies the server: PEM text or base64 DER'),
    cert: fileText.optional().describe('client certificate (mutual TLS), with key'),
    key: fileText.optional().describe('client private key (EC or RSA), with cert'),
    token: z.string().min(1).max(4096).optional().describe("token header lines, e.g. 'Authorization: Bearer s3cr3t'"),
    force: z
      .boolean()
      .optional()
      .describe("CUPS: set it even when this server would refuse its client certificate for the station, or its trust does not verify this server's certificate"),
  })
  .strict()
  .meta({ id: 'CredentialSet' });

export const CredentialSetResult = z
  .object({
    eui: z.string(),
    category,
    mode: z.enum(['token', 'mutual TLS', 'server TLS']),
    crc: z.number().int().describe('CRC the station reports once it holds the credential'),
    size: z.number().int(),
    blob: z.string(),
    accepted: z.string().nullable().describe('the certificate or token this server now accepts from the station (CUPS)'),
  })
  .meta({ id: 'CredentialSetResult' });

export const IssueRequest = z
  .object({
    for: z.enum(['cups', 'tc', 'both']).default('cups'),
    tcTrust: fileText.optional().describe('CA certificate that verifies the LNS, for tc.trust; default the station CA'),
    files: z.boolean().optional().describe("answer the station's files too (for first provisioning); they hold its private key or token"),
    validDays: z.number().optional().describe('certificate lifetime in days, a whole number from 1 to 36500 (certificates only; default 3650)'),
  })
  .strict()
  .meta({ id: 'IssueRequest' });

export const Issued = z
  .object({
    eui: z.string(),
    mode: z.string().describe('auth mode in force'),
    pendingMode: z.string().nullable().describe('mode a pending CUPS rotation switches to once the station uses the new credential'),
    credentials: z.array(
      z.object({
        category,
        kind: z.enum(['certificate', 'token']),
        crc: z.number().int(),
        size: z.number().int(),
        blob: z.string(),
        fingerprint: z.string().optional(),
        notAfter: time.optional(),
        tokenId: z.string().optional(),
        token: z.string().optional().describe('the token header line: shown once, only its hash is stored'),
      }),
    ),
    stationFiles: z
      .array(z.object({ category, trust: z.string(), crt: z.string(), key: z.string() }).describe('{category}.trust, .crt, .key in base64'))
      .optional()
      .describe('only when asked with files: true'),
    warnings: z.array(z.string()).optional().describe('notes, not errors: e.g. the station calls CUPS over plain HTTP, so its new CUPS credential is sent only once it calls over https'),
  })
  .meta({ id: 'Issued' });

export const RevokeRequest = z
  .object({
    fingerprint: z.string().optional().describe('the certificate, by SHA-256 fingerprint'),
    tokenId: z.string().optional().describe('the token, by id'),
    force: z.boolean().optional().describe('revoke even what the station uses or its only usable credential'),
  })
  .strict()
  .meta({ id: 'RevokeRequest' });

export const Revoked = z
  .object({ eui: z.string(), revoked: z.string(), category, retired: z.boolean(), wasInUse: z.boolean(), desiredCleared: z.boolean() })
  .meta({ id: 'Revoked' });

export const AuthModeSet = z
  .object({
    mode: z.string().describe('mtls, token or none'),
    force: z.boolean().optional().describe('set it even though the station holds no credential for that mode (it will be refused)'),
  })
  .strict().meta({ id: 'AuthModeSet' });

export const SigningKeyAdd = z
  .object({ publicKey: z.string().describe('sig-N.key as 128 hex digits, or a PEM public key'), name: z.string().max(200).nullable().optional() })
  .strict()
  .meta({ id: 'SigningKeyAdd' });
export const CrcParams = z.object({ crc: z.coerce.number().int().min(0).max(0xffffffff) });
export const SigningKeyRemoved = z.object({ crc: z.number().int(), removed: z.literal(true) }).meta({ id: 'SigningKeyRemoved' });

export const FirmwareUpgradeQuery = z.object({
  package: z.string().describe('the version the update writes into version.txt'),
  station: repeated.describe('target station EUI; repeatable'),
  label: repeated.describe('target every station with this label k=v; repeatable'),
  keyCrc: repeated.describe('CRC of the key that verifies the signature at the same position'),
  signature: repeated.describe('DER signature (openssl dgst -sha512 -sign), base64'),
  publicKey: repeated.describe('sig-N.key (128 hex digits) for a keyCrc not registered'),
  maxOffers: z.coerce.number().int().min(1).max(1000).optional(),
  allowDowngrade: z.enum(['true', 'false']).optional(),
  force: z.enum(['true', 'false']).optional().describe('target stations although an active firmware rollout holds them; the rollout records it as changed outside it'),
  sha256: z.string().optional().describe('SHA-256 of the body (64 hex digits): names the stored file, so bytes already stored are not stored twice; a body with another hash stores nothing'),
});

export const FirmwareUpgraded = z
  .object({
    package: z.string(),
    blob: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    uploaded: z.boolean().describe('false when the same bytes were already stored (and verified again)'),
    keyCrcs: z.array(z.number().int()),
    stations: z.array(z.string()),
  })
  .meta({ id: 'FirmwareUpgraded' });

export const FirmwareStatusQuery = z.object({ station: repeated.describe('only these stations'), label: repeated.describe('only stations with this label k=v') });

export const FirmwareStatus = z
  .object({ eui: z.string(), reportedPackage: z.string().nullable(), problem: z.string().nullable(), firmware: Station.shape.firmware })
  .meta({ id: 'FirmwareStatus' });

export const BlobsGcRequest = z
  .object({ delete: z.boolean().optional().describe(`delete what is found (needs ${BLOBS_GC_DELETE_ROLE}); otherwise list it`), minAge: z.string().optional().describe('only blobs at least this old, e.g. 1h (default)') })
  .strict()
  .meta({ id: 'BlobsGcRequest' });

export const BlobsGcResult = z
  .object({
    dryRun: z.boolean(),
    blobs: z.array(z.object({ container: z.string(), name: z.string(), size: z.number().int(), lastModified: time, reason: z.string(), deleted: z.boolean() })),
    bytes: z.number().int(),
  })
  .meta({ id: 'BlobsGcResult' });
