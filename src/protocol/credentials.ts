import { X509Certificate } from 'node:crypto';
import { CupsError } from '../core/errors.js';
import { crc32 } from './crc32.js';
import { stationDerLength, toDer, type CredentialElement } from './der.js';
import { describeNonCertificate } from './not-a-certificate.js';
import { loadPrivateKey } from './station-key.js';
import { validateToken } from './token.js';
import type { CredentialParts } from './types.js';

export { stationDerLength, derElementLength, toDer, type CredentialElement } from './der.js';
export { normaliseStationKey, loadPrivateKey } from './station-key.js';
export { validateToken } from './token.js';

/** How the station authenticates, derived from which credential elements exist (PROTOCOL.md 4.1). */
export type AuthMode = 'none' | 'tls' | 'mtls' | 'token';

/** The files `{cat}.trust`, `{cat}.crt`, `{cat}.key` as the station keeps them (null = missing). */
export interface StationCredentialFiles {
  readonly trust: Uint8Array | null;
  readonly cert: Uint8Array | null;
  readonly key: Uint8Array | null;
}

const ABSENT = Buffer.alloc(4);

function refuse(field: string, message: string): CupsError {
  return new CupsError('unparseable_credential', 'invalid_argument', message, { field });
}

function stationElement(der: Buffer, field: string, what: CredentialElement): Buffer {
  if (stationDerLength(der, 0) !== der.length) {
    const fix =
      what === 'private key'
        ? 'convert EC keys to SEC1 (openssl ec -in key.pem -outform DER -out key.der) and RSA keys to PKCS#1 (openssl rsa -in key.pem -traditional -outform DER -out key.der)'
        : 'the station only parses DER lengths of the form 30 LL (under 128 bytes) or 30 82 HH LL (128..65535 bytes)';
    throw refuse(
      field,
      `the ${field} element (${der.length} bytes, starting ${der.subarray(0, 3).toString('hex')}) uses a DER length form the station cannot parse, ` +
        `which would make it silently ignore the whole credential; ${fix}`,
    );
  }
  return der;
}

function certificate(input: Uint8Array, field: 'trust' | 'cert'): { der: Buffer; x509: X509Certificate } {
  const der = toDer(input, 'certificate', field);
  let x509: X509Certificate | undefined;
  try {
    x509 = new X509Certificate(der);
  } catch {
    x509 = undefined;
  }
  const wanted = field === 'trust' ? 'the CA certificate that verifies the server' : "the station's client certificate";
  const advice = `give ${wanted} (PEM -----BEGIN CERTIFICATE----- or DER)`;
  // A key or CSR given by mistake is named as such before the station's length rule would call it a DER length problem.
  const instead = x509 === undefined ? describeNonCertificate(input, der) : undefined;
  if (instead !== undefined) throw refuse(field, `the ${field} element is ${instead}, not an X.509 certificate; ${advice}`);
  stationElement(der, field, 'certificate');
  if (x509 === undefined) throw refuse(field, `the ${field} element is not an X.509 certificate; ${advice}`);
  return { der, x509 };
}

/**
 * Build the normalised credential blob `trust || cert-or-00000000 || key-or-00000000-or-token`
 * from PEM or DER inputs, refusing anything the station would misparse (PROTOCOL.md 4.1, 4.2).
 */
export function buildCredentialBlob(parts: {
  trust: Uint8Array;
  cert?: Uint8Array | null;
  key?: Uint8Array | null;
  token?: string | null;
}): Buffer {
  const { cert: certIn, key: keyIn, token } = parts;
  if (!(parts.trust instanceof Uint8Array)) throw refuse('trust', 'the trust element (the CA certificate that verifies the server) is required');
  const trust = certificate(parts.trust, 'trust').der;
  if (token != null && (certIn != null || keyIn != null)) {
    throw refuse('token', 'a token cannot be combined with a client certificate or key: use a token (TLS + token) or cert + key (mutual TLS)');
  }
  if ((keyIn == null) !== (certIn == null)) {
    throw refuse(
      keyIn != null ? 'key' : 'cert',
      keyIn != null ? 'a client key needs its certificate: give cert and key together' : 'a client certificate needs its private key: give cert and key together',
    );
  }
  let blob: Buffer;
  if (token != null) {
    blob = Buffer.concat([trust, ABSENT, Buffer.from(validateToken(token), 'latin1')]);
  } else if (certIn == null || keyIn == null) {
    blob = Buffer.concat([trust, ABSENT, ABSENT]);
  } else {
    const cert = certificate(certIn, 'cert');
    const key = stationElement(toDer(keyIn, 'private key', 'key'), 'key', 'private key');
    if (!cert.x509.checkPrivateKey(loadPrivateKey(key))) {
      throw new CupsError('credential_key_mismatch', 'invalid_argument', 'the key element is not the private key of the cert element; give the matching key', {
        field: 'key',
      });
    }
    blob = Buffer.concat([trust, cert.der, key]);
  }
  if (blob.length > 0xffff) throw refuse('blob', `the credential is ${blob.length} bytes; the station takes at most 65535`);
  return blob;
}

function misaligned(message: string, offset?: number): CupsError {
  return new CupsError('invalid_credential_blob', 'invalid_argument', `credential blob rejected as the station would: ${message}`, {
    field: 'credential',
    ...(offset === undefined ? {} : { offset }),
  });
}

/**
 * Split a credential blob exactly as the station does (PROTOCOL.md 4.1): a
 * leading 00 at the cert position means "no cert" and skips 4 bytes, a key
 * starting with neither 30 nor 00 is a token running to the end, and bytes after
 * the elements are ignored. Throws where the station ignores the blob.
 */
export function parseCredentialBlob(blob: Uint8Array): CredentialParts {
  const len = blob.length;
  // The station NUL-terminates its buffer, so the byte at `len` reads as 0.
  const at = (i: number): number | undefined => (i < len ? blob[i] : i === len ? 0 : undefined);
  const seqLength = (offset: number, what: string): number => {
    const n = stationElementLength(blob, offset);
    if (n === undefined) throw misaligned(`the ${what} header at offset ${offset} is cut short`, offset);
    if (offset + n > len) throw misaligned(`Lengths do not align: the ${what} claims ${n} bytes at offset ${offset} but the blob has ${len}`, offset);
    return n;
  };
  if (at(0) !== 0x30) throw misaligned('ASN.1 SEQUENCE expected for trust', 0);
  const tl = seqLength(0, 'trust');
  const co = tl;
  const certByte = at(co);
  let cl = 0;
  let ko: number;
  if (certByte === 0) {
    ko = co + 4;
  } else if (certByte === 0x30) {
    cl = seqLength(co, 'cert');
    ko = co + cl;
  } else {
    throw misaligned(`ASN.1 SEQUENCE expected for cert at offset ${co}`, co);
  }
  if (ko > len) throw misaligned(`expecting more data (key offset ${ko}, blob length ${len})`, ko);
  const keyByte = at(ko);
  let kl = 0;
  let token: string | null = null;
  if (keyByte === 0x30) kl = seqLength(ko, 'key');
  else if (keyByte !== 0) {
    kl = len - ko;
    token = Buffer.from(blob.subarray(ko, len)).toString('latin1');
  }
  if (tl + cl + kl > len) throw misaligned(`Lengths do not align (segment ${len} bytes, elements ${tl + cl + kl})`);
  return {
    trust: Buffer.from(blob.subarray(0, tl)),
    cert: cl > 0 ? Buffer.from(blob.subarray(co, co + cl)) : null,
    key: keyByte === 0x30 ? Buffer.from(blob.subarray(ko, ko + kl)) : null,
    token,
  };
}

/**
 * The station's own length rule: any long form is read as two bytes (so `30 81 LL`
 * and `30 83 ...` are misread, never rejected). Undefined when the header runs
 * past the buffer, where the station would read memory it does not own.
 */
function stationElementLength(buf: Uint8Array, offset: number): number | undefined {
  const b1 = buf[offset + 1];
  if (b1 === undefined) return undefined;
  if (b1 < 0x80) return b1 + 2;
  const hi = buf[offset + 2];
  const lo = buf[offset + 3];
  if (hi === undefined || lo === undefined) return undefined;
  return ((hi << 8) | lo) + 4;
}

/** The files the station writes for a parsed blob: absent cert/key as empty files, a token as the key file. */
export function stationFilesOf(parts: CredentialParts): StationCredentialFiles {
  return {
    trust: parts.trust,
    cert: parts.cert ?? Buffer.alloc(0),
    key: parts.key ?? (parts.token !== null ? Buffer.from(parts.token, 'latin1') : Buffer.alloc(0)),
  };
}

/** The normalised blob for already-split parts (no validation): what the station's CRC will match. */
export function serialiseCredentialParts(parts: CredentialParts): Buffer {
  const key = parts.key ?? (parts.token !== null ? Buffer.from(parts.token, 'latin1') : ABSENT);
  return Buffer.concat([parts.trust, parts.cert ?? ABSENT, key]);
}

/** CRC-32 of a credential blob: the CRC the station reports after applying it, if the blob is normalised. */
export function credentialCrc(blob: Uint8Array): number {
  return crc32(blob);
}

/** The credential CRC a station reports: chained over trust, cert, key; missing or empty files count as 00000000. */
export function stationCredentialCrc(files: StationCredentialFiles): number {
  let crc = 0;
  for (const file of [files.trust, files.cert, files.key]) crc = crc32(file && file.length > 0 ? file : ABSENT, crc);
  return crc;
}

/**
 * The auth mode the station derives from its credential elements (PROTOCOL.md 4.1,
 * station `sys_cred`): no trust → none; key or token without cert → token; cert
 * and key → mutual TLS; otherwise server-authenticated TLS.
 */
export function authModeOf(parts: CredentialParts | null): AuthMode {
  if (parts === null) return 'none';
  const keyFile = parts.key !== null || parts.token !== null;
  if (parts.cert === null && keyFile) return 'token';
  if (parts.cert !== null && keyFile) return 'mtls';
  return 'tls';
}
