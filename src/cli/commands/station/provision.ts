import { randomBytes, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { invalid, notFound } from '../../../core/errors.js';
import {
  bearerSecret,
  certificateFingerprint,
  issueStationCert,
  issueStationToken,
  stationCredentialFiles,
  tokenSecretHash,
  type IssuedCert,
} from '../../../pki/index.js';
import { buildCredentialBlob, parseCredentialBlob } from '../../../protocol/index.js';
import type { StationAuth, StationAuthMode } from '../../../registry/auth-types.js';
import type { Station } from '../../../registry/types.js';
import type { Runtime } from '../../../runtime.js';
import { ensureDir, writePkiFile } from '../pki/pki-dir.js';
import { storeCredential, type CredentialCategory } from './credential-blob.js';

/** One credential issued to a station and set as its desired credential. */
export interface IssuedCredential {
  readonly category: CredentialCategory;
  readonly kind: 'certificate' | 'token';
  /** CRC of the blob: what the station reports once it holds the credential. */
  readonly crc: number;
  readonly size: number;
  readonly blob: string;
  readonly fingerprint?: string;
  readonly notAfter?: Date;
  readonly tokenId?: string;
  /** The token header line; only for the operator's terminal, never stored. */
  readonly token?: string;
  /** The station's files: `{cat}.trust`, `{cat}.crt`, `{cat}.key` as the station writes them. */
  readonly files: { readonly trust: Buffer; readonly crt: Buffer; readonly key: Buffer };
}

/** The registered station with its auth record; not_found when it is not registered. */
export async function loadStation(rt: Runtime, eui: string): Promise<{ station: Station; auth: StationAuth }> {
  const [station, auth] = await Promise.all([rt.registry.getStation(eui), rt.registry.getStationAuth(eui)]);
  if (station === undefined || auth === undefined) {
    throw notFound('station_not_found', `station ${eui} is not registered; register it with "bscups station add ${eui}" first`);
  }
  return { station, auth };
}

/** A client certificate for the station, in a blob with `trust` (DER or PEM). */
export async function issueCertificate(rt: Runtime, target: { station: Station; auth: StationAuth }, category: CredentialCategory, ca: IssuedCert, trust: Buffer): Promise<IssuedCredential> {
  const cert = await issueStationCert(ca, { eui: target.station.eui });
  // Checks the station's DER rules on every element and that cert and key belong to the CA.
  const files = stationCredentialFiles(ca, cert);
  const blob = buildCredentialBlob({ trust, cert: files.crt, key: files.key });
  const parts = parseCredentialBlob(blob);
  const stored = await deliver(rt, target, category, blob, 'mtls', async (crc, at) => {
    await rt.registry.addCertificate(target.station.eui, { fingerprint: cert.fingerprint256, category, credCrc: crc, notAfter: cert.notAfter }, at);
    return `certificate ${cert.fingerprint256}`;
  });
  return { category, kind: 'certificate', ...stored, fingerprint: cert.fingerprint256, notAfter: cert.notAfter, files: { trust: parts.trust, crt: files.crt, key: files.key } };
}

/** A random token for the station, in a blob with `trust`; only its hash is stored. */
export async function issueToken(rt: Runtime, target: { station: Station; auth: StationAuth }, category: CredentialCategory, trust: Buffer): Promise<IssuedCredential> {
  const token = issueStationToken();
  const blob = buildCredentialBlob({ trust, token: token.headerLine });
  const parts = parseCredentialBlob(blob);
  const stored = await deliver(rt, target, category, blob, 'token', async (crc, at) => {
    await rt.registry.addToken(target.station.eui, { id: token.id, hash: token.hash, category, credCrc: crc }, at);
    return `token ${token.id}`;
  });
  return {
    category,
    kind: 'token',
    ...stored,
    tokenId: token.id,
    token: token.headerLine,
    files: { trust: parts.trust, crt: Buffer.alloc(0), key: Buffer.from(parts.token ?? '', 'latin1') },
  };
}

/**
 * Stores the blob, registers the credential as active, makes it the desired
 * credential (so a station already talking to us fetches it) and starts a
 * rotation: the station's other credentials of the category, and for CUPS its
 * old auth mode, stay valid until it reports the new CRC using the new
 * credential. A station never seen and holding nothing has nothing to fetch
 * with, so its CUPS mode changes at once.
 */
async function deliver(
  rt: Runtime,
  target: { station: Station; auth: StationAuth },
  category: CredentialCategory,
  blob: Buffer,
  mode: StationAuthMode,
  register: (crc: number, at: Date) => Promise<string>,
): Promise<{ crc: number; size: number; blob: string }> {
  const { station, auth } = target;
  const eui = station.eui;
  const at = new Date();
  const ref = await storeCredential(rt.blobs, eui, category, blob);
  const what = await register(ref.crc, at);
  const field = category === 'cups' ? 'cupsCred' : 'tcCred';
  await rt.registry.updateStation(eui, { desired: { [field]: ref } });
  const previous = station.desired[field];
  if (previous !== null && previous.blob !== ref.blob) await rt.blobs.delete('stationcredentials', previous.blob);
  const targetMode = category === 'cups' ? mode : null;
  await rt.registry.startRotation(eui, { category, newCrc: ref.crc, targetMode }, at);
  // Credentials written for first provisioning (--out) may be on their way to the station: keep their mode valid too.
  const holdsOthers = [...auth.certificates, ...auth.tokens].some((c) => c.category === category && c.status === 'active');
  const immediate = targetMode !== null && auth.mode !== targetMode && station.reported === null && !holdsOthers;
  if (immediate) await rt.registry.setAuthMode(eui, targetMode, at);
  await rt.registry.appendEvents(
    eui,
    [
      {
        type: 'config',
        message:
          `issued ${what} as the ${category} credential (crc ${ref.crc}); older ${category} credentials retire once the station reports it` +
          (targetMode === null || auth.mode === targetMode ? '' : immediate ? `; auth mode ${targetMode}` : `; auth mode becomes ${targetMode} then`),
      },
    ],
    at,
  );
  return { crc: ref.crc, size: ref.size, blob: ref.blob };
}

/** Writes the station's credential files for first provisioning; keys and tokens readable by the owner only. */
export async function writeStationFiles(dir: string, credentials: readonly IssuedCredential[]): Promise<string[]> {
  await ensureDir(dir);
  const written: string[] = [];
  for (const c of credentials) {
    for (const [ext, data, secret] of [
      ['trust', c.files.trust, false],
      ['crt', c.files.crt, false],
      ['key', c.files.key, true],
    ] as const) {
      const path = join(dir, `${c.category}.${ext}`);
      await writePkiFile(path, data, secret);
      written.push(path);
    }
  }
  return written;
}

/** `--for cups|tc|both` as the categories to issue, CUPS first. */
export function categoriesOf(value: string | undefined): CredentialCategory[] {
  switch (value ?? 'cups') {
    case 'cups':
      return ['cups'];
    case 'tc':
      return ['tc'];
    case 'both':
      return ['cups', 'tc'];
    default:
      throw invalid('invalid_category', `--for must be cups, tc or both, got "${value}"`, { field: '--for' });
  }
}

/** Reads a trust file given on the command line (PEM or DER). */
/** The trust of the station's current desired credential of a category, so a rotation keeps it; undefined when there is none. */
export async function currentTrust(rt: Runtime, station: Station, category: CredentialCategory): Promise<Buffer | undefined> {
  const ref = station.desired[category === 'cups' ? 'cupsCred' : 'tcCred'];
  if (ref === null) return undefined;
  const read = await rt.blobs.get('stationcredentials', ref.blob);
  if (read === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of read.stream) chunks.push(chunk as Buffer);
  return parseCredentialBlob(Buffer.concat(chunks)).trust;
}

/**
 * Keeps the auth record in step with a CUPS credential set by hand (`station
 * credentials --cups`): its certificate or bearer token becomes an accepted
 * credential with a rotation towards it, as if issued here. Without this, a
 * station with a certificate list would be refused once it switched to the
 * new credential. Returns what was registered, or null for trust-only blobs
 * and tokens of another form (which this server cannot check).
 */
export async function trackCupsCredential(registry: Runtime['registry'], eui: string, blob: Buffer, crc: number, at: Date): Promise<string | null> {
  const parts = parseCredentialBlob(blob);
  let registered: string;
  let mode: StationAuthMode;
  if (parts.cert !== null) {
    const fingerprint = certificateFingerprint(parts.cert);
    const auth = await registry.getStationAuth(eui);
    if (!auth?.certificates.some((c) => c.fingerprint === fingerprint)) {
      await registry.addCertificate(eui, { fingerprint, category: 'cups', credCrc: crc, notAfter: new Date(new X509Certificate(parts.cert).validTo) }, at);
    }
    registered = `certificate ${fingerprint}`;
    mode = 'mtls';
  } else {
    const authorization = parts.token?.split(/\r\n/).find((line) => /^authorization:/i.test(line));
    const secret = authorization === undefined ? null : bearerSecret(authorization.slice(authorization.indexOf(':') + 1).trim());
    if (secret === null) return null;
    const id = `tok-${randomBytes(6).toString('hex')}`;
    await registry.addToken(eui, { id, hash: tokenSecretHash(secret), category: 'cups', credCrc: crc }, at);
    registered = `token ${id}`;
    mode = 'token';
  }
  await registry.startRotation(eui, { category: 'cups', newCrc: crc, targetMode: mode }, at);
  return registered;
}
