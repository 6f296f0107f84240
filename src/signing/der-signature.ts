/** Shortest DER `SEQUENCE{INTEGER r, INTEGER s}`: 30 06 02 01 r 02 01 s. */
export const MIN_DER_SIGNATURE_LENGTH = 8;
/** The station's signature buffer (PROTOCOL.md 2.4: segment ≤ 132 = 4 CRC bytes + 128). */
export const MAX_DER_SIGNATURE_LENGTH = 128;

/**
 * True when `sig` is a DER `SEQUENCE{INTEGER r, INTEGER s}` of 8..128 bytes:
 * what the station can receive and parse (mbedtls_ecdsa_read_signature).
 * Catches the common mistake of uploading a raw r‖s (P1363) signature.
 */
export function isDerSignatureForStation(sig: Uint8Array): boolean {
  if (sig.byteLength < MIN_DER_SIGNATURE_LENGTH || sig.byteLength > MAX_DER_SIGNATURE_LENGTH) return false;
  const seq = readTlv(sig, 0, 0x30);
  if (seq === null || seq.end !== sig.byteLength) return false;
  const r = readTlv(sig, seq.start, 0x02);
  if (r === null || r.end === r.start) return false;
  const s = readTlv(sig, r.end, 0x02);
  return s !== null && s.end > s.start && s.end === seq.end;
}

/** Reads one tag-length header at `at`; short form and one-byte long form (0x81), as in any signature ≤ 128 bytes. */
function readTlv(buf: Uint8Array, at: number, tag: number): { start: number; end: number } | null {
  if (buf[at] !== tag) return null;
  const first = buf[at + 1];
  if (first === undefined) return null;
  let start = at + 2;
  let length = first;
  if (first === 0x81) {
    const next = buf[at + 2];
    if (next === undefined) return null;
    length = next;
    start = at + 3;
  } else if (first > 0x7f) {
    return null;
  }
  const end = start + length;
  return end <= buf.byteLength ? { start, end } : null;
}
