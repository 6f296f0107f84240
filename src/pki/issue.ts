import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509CertificateGenerator,
  type Extension,
  type JsonGeneralName,
} from './x509.js';
import { invalid } from '../core/errors.js';
import { parseEui } from '../protocol/index.js';
import { caSigner, toIssuedCert } from './issued-cert.js';
import { ECDSA_SHA256, generateP256Key } from './keys.js';
import type { CreateCaOptions, IssuedCert, ServerCertOptions, StationCertOptions } from './types.js';
import { resolveValidity } from './validity.js';

/** Default lifetimes in days. Station certificates live long: a station with an expired one cannot reach CUPS to get a new one. */
export const DEFAULT_VALID_DAYS = { ca: 3650, server: 825, station: 3650 } as const;

/** Prefix of the URI SAN that names a station: `urn:lora:eui:` + 16 uppercase hex digits. */
export const STATION_URI_PREFIX = 'urn:lora:eui:';

/** X.520 upper bound for a common name. */
const MAX_CN = 64;

/** Self-signed ECDSA P-256 CA (basicConstraints CA, keyCertSign + cRLSign); 10 years by default. */
export async function createCa(options: CreateCaOptions = {}): Promise<IssuedCert> {
  const commonName = options.commonName ?? 'bscups station CA';
  checkCommonName(commonName, 'commonName');
  const { notBefore, notAfter } = resolveValidity(options, DEFAULT_VALID_DAYS.ca);
  const key = await generateP256Key();
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }],
      notBefore,
      notAfter,
      keys: { publicKey: key.publicKey, privateKey: key.privateKey },
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(key.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return toIssuedCert(cert, key);
}

/**
 * TLS server certificate (serverAuth); CN is the first name. Every name is a
 * dNSName, and an IP address is an iPAddress entry as well: station 2.0.6
 * (mbedTLS 2.28) compares only dNSName entries with its URI's host, even an IP
 * literal, while Node, curl and browsers compare an IP host with iPAddress entries
 * only (PROTOCOL.md 7). A name repeated (in any case) is written once.
 */
export async function issueServerCert(ca: IssuedCert, options: ServerCertOptions): Promise<IssuedCert> {
  const names = options.names;
  if (!Array.isArray(names) || names.length === 0) {
    throw invalid('invalid_server_name', 'names must list at least one DNS name or IP address the server is reached by', {
      field: 'names',
    });
  }
  const seen = new Set<string>();
  const sans = names.flatMap((name, i) => {
    const entries = serverSans(name, `names[${i}]`);
    const key = (name as string).toLowerCase();
    if (seen.has(key)) return [];
    seen.add(key);
    return entries;
  });
  const first = names[0] as string;
  checkCommonName(first, 'names[0]');
  return issueLeaf(ca, first, sans, ExtendedKeyUsage.serverAuth, resolveValidity(options, DEFAULT_VALID_DAYS.server));
}

/**
 * Station client certificate (clientAuth): CN is the canonical EUI and a URI SAN
 * `urn:lora:eui:<EUI>` repeats it, which `euiFromCertificate` reads back.
 */
export async function issueStationCert(ca: IssuedCert, options: StationCertOptions): Promise<IssuedCert> {
  const eui = parseEui(options.eui, 'eui');
  const sans: JsonGeneralName[] = [{ type: 'url', value: STATION_URI_PREFIX + eui }];
  return issueLeaf(ca, eui, sans, ExtendedKeyUsage.clientAuth, resolveValidity(options, DEFAULT_VALID_DAYS.station));
}

async function issueLeaf(
  ca: IssuedCert,
  commonName: string,
  sans: JsonGeneralName[],
  usage: ExtendedKeyUsage,
  validity: { notBefore: Date; notAfter: Date },
): Promise<IssuedCert> {
  const signer = await caSigner(ca);
  const key = await generateP256Key();
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new ExtendedKeyUsageExtension([usage], false),
    new SubjectAlternativeNameExtension(sans, false),
    await SubjectKeyIdentifierExtension.create(key.publicKey, false, webcrypto),
    await AuthorityKeyIdentifierExtension.create(signer.cert.publicKey, false, webcrypto),
  ];
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ CN: [commonName] }],
      issuer: signer.cert.subjectName,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
      publicKey: key.publicKey,
      signingKey: signer.signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions,
    },
    webcrypto,
  );
  return toIssuedCert(cert, key);
}

/** 128 random bits, positive and without a leading zero byte so the DER INTEGER is always 16 bytes. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

const DNS_NAME = /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/;

/** The SAN entries for one server name: the name as a dNSName, and for an IP address also the iPAddress entry. */
function serverSans(name: unknown, field: string): JsonGeneralName[] {
  if (typeof name !== 'string' || name.length === 0) {
    throw invalid('invalid_server_name', `${field} must be a non-empty DNS name or IP address`, { field });
  }
  const ipVersion = isIP(name);
  if (ipVersion === 6 && name.includes('.')) {
    throw invalid('invalid_server_name', `${field} "${name}": write IPv6 addresses in hex groups only (e.g. ::ffff:c000:201)`, {
      field,
    });
  }
  // The dNSName keeps the text as given: the station compares it byte for byte with the host in its URI.
  if (ipVersion !== 0) return [{ type: 'dns', value: name }, { type: 'ip', value: name }];
  if (name.length > 253 || !DNS_NAME.test(name)) {
    throw invalid('invalid_server_name', `${field} "${name}" is neither a DNS name nor an IPv4/IPv6 address`, { field });
  }
  return [{ type: 'dns', value: name }];
}

function checkCommonName(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CN) {
    throw invalid('invalid_common_name', `${field} must be 1 to ${MAX_CN} characters to serve as the certificate CN`, {
      field,
    });
  }
}
