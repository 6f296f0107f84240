import { X509Certificate, createPrivateKey } from 'node:crypto';
import { invalid } from '../core/errors.js';
import type { IssuedCert, StationCredentialFiles, TrustOnlyFiles } from './types.js';

/** A credential segment carries a u16 length on the wire (PROTOCOL.md 2). */
const MAX_CREDENTIAL_BLOB = 0xffff;

/**
 * Throws unless `element` is one DER SEQUENCE whose length the station's parser
 * reads right: short form (`30 LL`, LL < 128) or two-byte long form
 * (`30 82 HH LL`), and that length must cover exactly the element. Any other
 * form makes the station drop the whole credential silently (PROTOCOL.md 4.1).
 */
export function assertStationDer(element: Uint8Array, field: string): void {
  const fail = (why: string): never => {
    throw invalid(
      'unparseable_credential',
      `${field} cannot be parsed by a Basics Station (${why}); use a P-256 key in SEC1 form and a certificate under 64 KiB with short names`,
      { field },
    );
  };
  if (element.length < 2 || element[0] !== 0x30) fail('it does not start with a DER SEQUENCE tag 0x30');
  const first = element[1] as number;
  let header: number;
  let length: number;
  if (first < 0x80) {
    header = 2;
    length = first;
  } else if (first === 0x82 && element.length >= 4) {
    header = 4;
    length = ((element[2] as number) << 8) | (element[3] as number);
  } else {
    return fail(`length form 0x${first.toString(16).padStart(2, '0')} is neither short form nor 0x82`);
  }
  if (header + length !== element.length) {
    fail(`DER length ${header + length} does not match the ${element.length} bytes given`);
  }
}

/** The files a mutually authenticated station holds (`cups.trust`, `cups.crt`, `cups.key`), each checked against the station's DER rules. */
export function stationCredentialFiles(ca: IssuedCert, station: IssuedCert): StationCredentialFiles {
  const trust = Buffer.from(ca.certDer);
  const crt = Buffer.from(station.certDer);
  const key = Buffer.from(station.keySec1Der);
  assertStationDer(trust, 'trust (CA certificate)');
  assertStationDer(crt, 'crt (station certificate)');
  assertStationDer(key, 'key (station private key)');
  assertBelongTogether(ca, station);
  const total = trust.length + crt.length + key.length;
  if (total > MAX_CREDENTIAL_BLOB) {
    throw invalid(
      'credential_too_large',
      `trust + crt + key take ${total} bytes but a station credential holds at most ${MAX_CREDENTIAL_BLOB}; use shorter names`,
      { field: 'station' },
    );
  }
  return { trust, crt, key };
}

/** The single file (`cups.trust`) of a station that authenticates the server only. */
export function trustOnlyFiles(ca: IssuedCert): TrustOnlyFiles {
  const trust = Buffer.from(ca.certDer);
  assertStationDer(trust, 'trust (CA certificate)');
  return { trust };
}

/** Refuses mixed-up inputs at provisioning rather than letting the TLS handshake fail on the station. */
function assertBelongTogether(ca: IssuedCert, station: IssuedCert): void {
  const caCert = new X509Certificate(ca.certDer);
  const stationCert = new X509Certificate(station.certDer);
  if (!stationCert.checkIssued(caCert) || !stationCert.verify(caCert.publicKey)) {
    throw invalid(
      'credential_mismatch',
      `the station certificate "${station.subject}" was not issued by the CA "${ca.subject}"; pass the CA that signed it`,
      { field: 'station' },
    );
  }
  let matches: boolean;
  try {
    matches = stationCert.checkPrivateKey(createPrivateKey({ key: station.keySec1Der, format: 'der', type: 'sec1' }));
  } catch {
    // An unreadable key cannot belong to the certificate; the error below says what to fix.
    matches = false;
  }
  if (!matches) {
    throw invalid('key_mismatch', `the station key does not belong to the certificate "${station.subject}"`, {
      field: 'station',
    });
  }
}
