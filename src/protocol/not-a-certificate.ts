import { createPrivateKey, createPublicKey } from 'node:crypto';

/**
 * What a file given where a certificate belongs holds instead, in words for the
 * error message: operators mix up ca.pem, ca.key and a CSR, and "DER length"
 * or "ASN.1" would not tell them which file they took. Undefined when it is none of these.
 */
export function describeNonCertificate(input: Uint8Array, der: Buffer): string | undefined {
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1'))?.[1];
  if (label !== undefined) {
    if (label.endsWith('PRIVATE KEY')) return `a private key (PEM ${label})`;
    if (label.includes('CERTIFICATE REQUEST')) return `a certificate signing request (PEM ${label})`;
    if (label.endsWith('PUBLIC KEY')) return `a public key (PEM ${label})`;
    if (!label.includes('CERTIFICATE')) return `a PEM ${label} block`;
  }
  if (isPrivateKey(der)) return 'a private key';
  if (isPublicKey(der)) return 'a public key';
  if (isCertificationRequest(der)) return 'a certificate signing request';
  return undefined;
}

function isPrivateKey(der: Buffer): boolean {
  return (['pkcs8', 'sec1', 'pkcs1'] as const).some((type) => {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      return false;
    }
  });
}

function isPublicKey(der: Buffer): boolean {
  try {
    createPublicKey({ key: der, format: 'der', type: 'spki' });
    return true;
  } catch {
    return false;
  }
}

/** Bytes of a DER tag + length header at `offset` (undefined when malformed). */
function headerLength(der: Buffer, offset: number): number | undefined {
  const first = der[offset + 1];
  if (first === undefined) return undefined;
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

/**
 * PKCS#10 starts SEQUENCE { SEQUENCE { INTEGER 0, Name ... } }, where a certificate's
 * inner SEQUENCE starts with its [0] version or serial number and is never followed by a Name directly.
 */
function isCertificationRequest(der: Buffer): boolean {
  const outer = headerLength(der, 0);
  if (der[0] !== 0x30 || outer === undefined || der[outer] !== 0x30) return false;
  const inner = headerLength(der, outer);
  if (inner === undefined) return false;
  const at = outer + inner;
  return der[at] === 0x02 && der[at + 1] === 0x01 && der[at + 2] === 0x00 && der[at + 3] === 0x30;
}
