import { X509Certificate as NodeX509, createPrivateKey, type webcrypto } from 'node:crypto';
import { BasicConstraintsExtension, X509Certificate } from './x509.js';
import { CupsError, invalid } from '../core/errors.js';
import { certificateFingerprint } from './fingerprint.js';
import { importSigningKey, parseP256PrivateKey, sec1Encodings } from './keys.js';
import type { IssuedCert } from './types.js';

/** Builds the plain-data view of a certificate and its key. */
export function toIssuedCert(cert: X509Certificate, key: { keyPem: string; keySec1Der: Buffer }): IssuedCert {
  const certDer = Buffer.from(cert.rawData);
  return {
    certPem: cert.toString('pem') + '\n',
    certDer,
    keyPem: key.keyPem,
    keySec1Der: key.keySec1Der,
    fingerprint256: certificateFingerprint(certDer),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subject: cert.subject,
  };
}

const PEM_CERT_HEADER = '-----BEGIN CERTIFICATE-----';

/** Re-loads a certificate and its private key from PEM text (e.g. a CA kept in files), checking they belong together. */
export async function loadIssuedCert(certPem: string, keyPem: string): Promise<IssuedCert> {
  const blocks = certPem.split(PEM_CERT_HEADER).length - 1;
  if (blocks !== 1) {
    throw invalid(
      'invalid_certificate',
      `certPem must hold exactly one PEM certificate (found ${blocks}); pass the certificate alone, without its chain`,
      { field: 'certPem' },
    );
  }
  let cert: X509Certificate;
  let nodeCert: NodeX509;
  try {
    cert = new X509Certificate(certPem);
    nodeCert = new NodeX509(certPem);
  } catch (e) {
    throw new CupsError('invalid_certificate', 'invalid_argument', 'certPem is not a readable X.509 certificate', {
      field: 'certPem',
    }, { cause: e });
  }
  const key = parseP256PrivateKey(keyPem, 'keyPem');
  if (!nodeCert.checkPrivateKey(key)) {
    throw invalid('key_mismatch', 'keyPem is not the private key of the certificate in certPem; pair the right files', {
      field: 'keyPem',
    });
  }
  return toIssuedCert(cert, sec1Encodings(key));
}

/** What an issuing CA contributes to a certificate it signs. */
export interface CaSigner {
  readonly cert: X509Certificate;
  readonly signingKey: webcrypto.CryptoKey;
}

/** Checks that `ca` is a CA certificate with its own key and prepares it for signing. */
export async function caSigner(ca: IssuedCert): Promise<CaSigner> {
  const cert = new X509Certificate(ca.certDer);
  const constraints = cert.getExtension(BasicConstraintsExtension);
  if (!constraints?.ca) {
    throw invalid(
      'not_a_ca',
      `the certificate "${cert.subject}" is not a CA (basicConstraints CA is not set); issue from a CA made by createCa`,
      { field: 'ca' },
    );
  }
  const key = createPrivateKey({ key: ca.keySec1Der, format: 'der', type: 'sec1' });
  if (!new NodeX509(ca.certDer).checkPrivateKey(key)) {
    throw invalid('key_mismatch', `the CA key does not belong to the CA certificate "${cert.subject}"`, {
      field: 'ca',
    });
  }
  return { cert, signingKey: await importSigningKey(ca.keySec1Der) };
}
