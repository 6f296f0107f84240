import { parseEui } from '../protocol/index.js';
import { loadCa, loadCaCertificate } from '../pki/pki-folder.js';
import type { CredentialCategory } from '../registry/auth-types.js';
import { audited, authorize } from './context.js';
import type { IssuedCert } from '../pki/types.js';
import { rotateCredential } from './credentials.js';
import type { RolloutContext } from './firmware-library.js';
import { checkRolloutClaims, recordForced } from './rollout-claims.js';
import { plainHttpWarnings } from './plain-http-warning.js';

/** The station CA as rotations need it: its certificate (the trust a CUPS blob carries) and, to issue certificates, its key. */
export interface StationCa {
  readonly caCert: Buffer;
  readonly ca?: IssuedCert;
}

/** Reads the station CA from a PKI folder; the key is optional, since a token-only setup may keep it offline. */
export async function loadStationCa(pkiDir: string): Promise<StationCa> {
  const caCert = await loadCaCertificate(pkiDir);
  const ca = await loadCa(pkiDir).catch(() => undefined);
  return { caCert, ...(ca === undefined ? {} : { ca }) };
}

/** What a rotation through the API reports: never the token or key, which only the station receives. */
export interface Rotated {
  readonly eui: string;
  readonly category: CredentialCategory;
  readonly kind: 'certificate' | 'token';
  readonly crc: number;
  readonly fingerprint: string | null;
  readonly notAfter: Date | null;
  readonly tokenId: string | null;
  /** Notes for the operator, not errors: e.g. the station calls over plain HTTP, so a CUPS credential waits for https. */
  readonly warnings: readonly string[];
}

/**
 * Rotates the certificate or token a station uses for `category`, issued by the
 * station CA in `pkiDir` (the folder `bscups pki init` made). The old credential
 * stays valid until the station reports the new one. `trust` (for tc) replaces the
 * CA certificate that verifies the LNS; by default the station keeps the one it has.
 */
export async function rotateStationCredential(ctx: RolloutContext, eui: string, category: CredentialCategory, pkiDir: string, trust?: Buffer, options: { readonly force?: boolean } = {}): Promise<Rotated> {
  authorize(ctx, 'operator', 'rotating a station credential');
  const id = parseEui(eui, 'eui');
  // A rotation rollout of this category holding the station owns its credential: refused unless forced.
  const held = await checkRolloutClaims(ctx, [id], { kind: 'credentials', category }, `rotating the ${category} credential of station ${id}`, options.force === true);
  const caCert = await loadCaCertificate(pkiDir);
  // The CA key is needed only to issue a certificate; a token-only setup may keep it offline.
  const ca = await loadCa(pkiDir).catch(() => undefined);
  const issued = await rotateCredential({ registry: ctx.registry, blobs: ctx.blobs, clock: ctx.clock }, { eui: id, category, caCert, ...(ca === undefined ? {} : { ca }), ...(trust === undefined ? {} : { trust }) }, (r) =>
    audited(ctx, 'credential.rotate', id, { category, kind: r.kind, crc: r.crc, fingerprint: r.fingerprint ?? null, tokenId: r.tokenId ?? null, ...(held.length === 0 ? {} : { forcedOver: held.map((h) => h.rollout.id) }) }),
  );
  const rotated: Rotated = {
    eui: id,
    category,
    kind: issued.kind,
    crc: issued.crc,
    fingerprint: issued.fingerprint ?? null,
    notAfter: issued.notAfter ?? null,
    tokenId: issued.tokenId ?? null,
    warnings: category === 'cups' ? await plainHttpWarnings(ctx.registry, id, issued.kind) : [],
  };
  await recordForced(ctx, held, `${category} credential rotation`);
  return rotated;
}
