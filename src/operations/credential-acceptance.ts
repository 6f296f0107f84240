import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CupsError, invalid } from '../core/errors.js';
import { euiFromCertificate } from '../pki/eui-from-certificate.js';
import { certificateFingerprint } from '../pki/fingerprint.js';
import { pkiFiles } from '../pki/pki-folder.js';
import { buildCredentialBlob, normaliseStationKey, parseCredentialBlob } from '../protocol/index.js';

/** What this server accepts and presents: the station CA (client certificates) and its own TLS certificate chain. */
export interface ServerPki {
  /** The CA that signs the station client certificates this server accepts (`--client-ca`, the PKI folder's ca.pem). */
  readonly stationCa: X509Certificate;
  /** The server's TLS certificate first, then the chain it sends (the PKI folder's server.pem). */
  readonly serverChain: readonly X509Certificate[];
}

const FORCE = 'pass --force (API: "force": true) to set it anyway';

/** The PKI folder `bscups pki init` wrote, as the reference of what the server accepts and presents. */
export async function loadServerPki(dir: string): Promise<ServerPki> {
  const files = pkiFiles(dir);
  const read = async (path: string, what: string): Promise<X509Certificate[]> => {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (e) {
      throw invalid(
        'server_pki_unknown',
        `cannot check the CUPS credential against this server: ${what} ${path} is unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)}); point --pki-dir (server: BSCUPS_PKI_DIR) at the folder "bscups pki init" made, or ${FORCE}`,
      );
    }
    const certs = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => {
      try {
        return new X509Certificate(block);
      } catch {
        return undefined;
      }
    });
    if (certs.length === 0 || certs.some((c) => c === undefined)) {
      throw invalid('server_pki_unknown', `cannot check the CUPS credential against this server: ${what} ${path} holds no readable PEM certificate; ${FORCE}`);
    }
    return certs as X509Certificate[];
  };
  const [ca, chain] = await Promise.all([read(files.caCert, 'the station CA'), read(files.serverCert, "the server's certificate")]);
  return { stationCa: ca[0] as X509Certificate, serverChain: chain };
}

/**
 * Refuses a CUPS credential this server would refuse or the station could not
 * use (invalid_argument, with a stable code): a client certificate not issued
 * by the station CA (self-signed, another CA), outside its validity, or naming
 * another station (or none, or several) than `eui` (the rules of
 * core/authenticate.ts); a trust that does not verify the server's certificate
 * (the station would fail every TLS handshake with this server and fall back
 * to its backup credentials, PROTOCOL.md 5.3). Token and trust-only
 * credentials have only their trust checked.
 */
export async function checkCupsCredential(
  eui: string,
  input: { readonly trust: Buffer; readonly cert: Buffer | null; readonly key: Buffer | null; readonly token: string | null },
  serverPki: () => Promise<ServerPki>,
  now: Date,
): Promise<void> {
  // Built as setCredential builds the stored blob: PEM or DER in, the DER the station gets out (and its errors first).
  if ((input.cert === null) !== (input.key === null) || (input.token !== null && input.cert !== null)) return; // setCredential says what is missing
  const key = input.key === null ? null : normaliseStationKey(input.key);
  const parts = parseCredentialBlob(buildCredentialBlob({ trust: input.trust, cert: input.cert, key, token: input.token }));
  const pki = await serverPki();
  if (parts.cert !== null) checkClientCertificate(eui, new X509Certificate(parts.cert), pki.stationCa, now);
  checkTrust(new X509Certificate(parts.trust), pki.serverChain, now);
}

function checkClientCertificate(eui: string, cert: X509Certificate, ca: X509Certificate, now: Date): void {
  const fingerprint = certificateFingerprint(cert.raw);
  const refuse = (code: string, why: string): CupsError =>
    invalid(code, `the client certificate ${fingerprint} would be refused by this server: ${why}; issue one with "bscups station issue-cert ${eui}", or ${FORCE}`, { field: 'cert' });
  if (!issuedBy(cert, ca)) {
    const self = issuedBy(cert, cert) ? 'it is self-signed' : `it was issued by ${oneLine(cert.issuer)}`;
    throw refuse('certificate_not_from_station_ca', `${self}, not by this server's station CA (${oneLine(ca.subject)})`);
  }
  if (!within(cert, now)) throw refuse('certificate_expired', `it is valid from ${cert.validFrom} to ${cert.validTo} only`);
  const named = euiFromCertificate(cert.raw);
  if (named.length === 0) throw refuse('certificate_names_no_station', 'it names no station EUI (subject CN or SAN)');
  if (named.length > 1) throw refuse('certificate_names_several_stations', `it names several stations (${named.join(', ')})`);
  if (named[0] !== eui) throw refuse('certificate_for_other_station', `it is station ${named[0] as string}'s certificate, not ${eui}'s`);
}

/** The trust must verify the chain the server presents: be one of its certificates, or the issuer of one. */
function checkTrust(trust: X509Certificate, chain: readonly X509Certificate[], now: Date): void {
  const server = chain[0] as X509Certificate;
  const refuse = (why: string): CupsError =>
    invalid(
      'trust_does_not_verify_server',
      `the trust ${oneLine(trust.subject)} does not verify this server's certificate (${oneLine(server.subject)}, issued by ${oneLine(server.issuer)}): ${why}; ` +
        `the station would fail every TLS handshake with this server. Give the CA that issued the server certificate (the PKI folder's ca.pem), or ${FORCE}`,
      { field: 'trust' },
    );
  if (!within(trust, now)) throw refuse(`the trust is valid from ${trust.validFrom} to ${trust.validTo} only`);
  const seen = new Set<X509Certificate>();
  for (let cert: X509Certificate | undefined = server; cert !== undefined && !seen.has(cert); ) {
    seen.add(cert);
    if (cert.fingerprint256 === trust.fingerprint256 || issuedBy(cert, trust)) return;
    const current: X509Certificate = cert;
    cert = chain.find((c) => c !== current && issuedBy(current, c));
  }
  throw refuse('no certificate of its chain is, or was issued by, the trust');
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function within(cert: X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return t >= Date.parse(cert.validFrom) && t <= Date.parse(cert.validTo);
}

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}
