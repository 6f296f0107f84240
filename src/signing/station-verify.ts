import { createVerify, type KeyObject, type Verify } from 'node:crypto';
import { invalid, isCupsError } from '../core/errors.js';
import { forEachChunk, type ByteSource } from './byte-source.js';
import { MAX_DER_SIGNATURE_LENGTH } from './der-signature.js';
import { publicKeyFromSigKey } from './keys.js';
import { SIG_KEY_LENGTH } from './p256.js';

/** What a station does with a downloaded update (PROTOCOL.md 5.4). */
export type StationVerifyOutcome = 'verified' | 'no-signature-abort' | 'unsigned-run' | 'bad-signature';

/** The station's decision, with the index N of the sig-N.key that verified. */
export interface StationVerifyResult {
  /** verified → runs; no-signature-abort and bad-signature → aborted; unsigned-run → runs without a check. */
  readonly outcome: StationVerifyOutcome;
  /** Index of the verifying sig-N.key; only with `verified`. */
  readonly keyIndex?: number;
}

/** Smallest signature a station accepts: a signature segment below 8 bytes (4 of them the key CRC) is a protocol error. */
const MIN_STATION_SIGNATURE_LENGTH = 4;

/**
 * Decides like the station (cups.c, cups_ondone/cups_verifySig) whether an update runs.
 * `keyFiles[N]` is the content of sig-N.key, or null when that file is missing.
 * The rules, as the station applies them:
 * - no signature: aborts when sig-0.key exists (whatever its size), runs unsigned when it is missing;
 * - a signature: tries sig-0.key, sig-1.key, … in order, stopping at the first missing file,
 *   skipping files that are not 64 bytes or not a P-256 point; none verifies → bad-signature.
 * The keyCRC of the response is not an input: the station only logs it.
 * The update is hashed once, in chunks; it is not read when no key can be tried.
 */
export async function verifyWithStationKeys(
  update: Uint8Array | ByteSource,
  signature: Uint8Array | null,
  keyFiles: readonly (Uint8Array | null)[],
): Promise<StationVerifyResult> {
  if (signature === null) {
    const sig0 = keyFiles[0];
    return { outcome: sig0 === undefined || sig0 === null ? 'unsigned-run' : 'no-signature-abort' };
  }
  if (signature.byteLength < MIN_STATION_SIGNATURE_LENGTH || signature.byteLength > MAX_DER_SIGNATURE_LENGTH) {
    throw invalid(
      'invalid_signature_length',
      `a signature of ${signature.byteLength} bytes never reaches verification: the station rejects a signature segment outside 8..132 bytes as a protocol error`,
      { length: signature.byteLength },
    );
  }

  const candidates: { index: number; key: KeyObject; verifier: Verify }[] = [];
  for (let index = 0; index < keyFiles.length; index++) {
    const file = keyFiles[index];
    if (file === null || file === undefined) break;
    if (file.byteLength !== SIG_KEY_LENGTH) continue;
    const key = stationKey(file);
    if (key !== null) candidates.push({ index, key, verifier: createVerify('sha512') });
  }
  if (candidates.length === 0) return { outcome: 'bad-signature' };

  // One pass over the update feeds every candidate, as the station hashes once and then tries each key.
  if (update instanceof Uint8Array) {
    for (const c of candidates) c.verifier.update(update);
  } else {
    await forEachChunk(update, (chunk) => {
      for (const c of candidates) c.verifier.update(chunk);
    });
  }
  for (const c of candidates) {
    if (c.verifier.verify({ key: c.key, dsaEncoding: 'der' }, signature)) {
      return { outcome: 'verified', keyIndex: c.index };
    }
  }
  return { outcome: 'bad-signature' };
}

/** The station counts a 64-byte file that is not a curve point as a key that fails (mbedtls_ecp_check_pubkey). */
function stationKey(file: Uint8Array): KeyObject | null {
  try {
    return publicKeyFromSigKey(file);
  } catch (e) {
    if (isCupsError(e)) return null;
    throw e;
  }
}
