import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, SubjectAlternativeName, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { invalid } from '../core/errors.js';

const ID_AT_COMMON_NAME = '2.5.4.3';

/** One subjectAltName entry, reduced to what the station distinguishes: dNSName or anything else. */
export type AltName = { readonly type: 'dns'; readonly value: string } | { readonly type: 'ip' | 'other'; readonly value: string };

/** The names of a server certificate that station 2.0.6 could look at. */
export interface ServerCertificateNames {
  /** Every subjectAltName entry in order; null when the certificate has no subjectAltName extension at all. */
  readonly altNames: readonly AltName[] | null;
  /** Every CN attribute of the subject, in order. */
  readonly commonNames: readonly string[];
}

/**
 * Whether station 2.0.6 (mbedTLS 2.28 `x509_crt_verify_name`) accepts the certificate
 * for `host`, the host of its cups.uri (PROTOCOL.md 7): with a subjectAltName
 * extension only its dNSName entries count, IP literal hosts included; without one,
 * the subject CNs do. Node, curl and browsers decide differently for IP hosts, which
 * is why the simulator must not leave this to them.
 */
export function stationAcceptsServerName(host: string, names: ServerCertificateNames): boolean {
  if (names.altNames !== null) {
    return names.altNames.some((alt) => alt.type === 'dns' && nameMatches(host, alt.value));
  }
  return names.commonNames.some((cn) => nameMatches(host, cn));
}

/** mbedTLS's comparison: the whole text case-insensitively, or `*.rest` standing for exactly one leading label of the host. */
function nameMatches(host: string, name: string): boolean {
  if (asciiEqualIgnoringCase(host, name)) return true;
  if (name.length < 3 || !name.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  // A host without a dot, or starting with one, has no first label for the wildcard to stand for.
  if (dot <= 0) return false;
  return asciiEqualIgnoringCase(host.slice(dot), name.slice(1));
}

/** mbedTLS folds only ASCII letters; any other byte must be equal. */
function asciiEqualIgnoringCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y && fold(x) !== fold(y)) return false;
  }
  return true;
}

function fold(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

/** Reads the names station 2.0.6 could compare from a DER certificate. */
export function serverCertificateNames(der: Uint8Array): ServerCertificateNames {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (cause) {
    throw invalid('simulator_bad_server_certificate', `the server sent a certificate that is not readable DER X.509 (${String(cause)})`);
  }
  const tbs = cert.tbsCertificate;
  const commonNames = tbs.subject.flatMap((rdn) => rdn.filter((atv) => atv.type === ID_AT_COMMON_NAME).map((atv) => atv.value.toString()));
  const extension = tbs.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
  if (extension === undefined) return { altNames: null, commonNames };
  let san: SubjectAlternativeName;
  try {
    san = AsnConvert.parse(extension.extnValue, SubjectAlternativeName);
  } catch (cause) {
    throw invalid('simulator_bad_server_certificate', `the server certificate's subjectAltName is not readable (${String(cause)})`);
  }
  const altNames = san.map((name): AltName => {
    if (name.dNSName !== undefined) return { type: 'dns', value: name.dNSName };
    if (name.iPAddress !== undefined) return { type: 'ip', value: name.iPAddress };
    return { type: 'other', value: name.uniformResourceIdentifier ?? name.rfc822Name ?? name.registeredID ?? '' };
  });
  return { altNames, commonNames };
}

/** Human text of the names, for an error that tells the operator what the certificate lacks. */
export function describeServerNames(names: ServerCertificateNames): string {
  if (names.altNames === null) return `no subjectAltName, CN ${names.commonNames.join(', ') || '(none)'}`;
  const text = names.altNames.map((n) => `${n.type === 'dns' ? 'DNS' : n.type === 'ip' ? 'IP' : 'other'}:${n.value}`);
  return `subjectAltName ${text.join(', ') || '(empty)'}`;
}
