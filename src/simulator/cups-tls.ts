import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { CupsError, invalid, isCupsError } from '../core/errors.js';
import { validateToken, type AuthMode } from '../protocol/index.js';
import type { CupsTarget } from './cups-uri.js';
import type { CredentialFiles } from './home.js';
import { describeServerNames, serverCertificateNames, stationAcceptsServerName } from './station-server-name.js';


/** TLS settings and extra request header lines for one exchange. */
export interface CupsTransport {
  readonly authMode: AuthMode;
  /** Options for tls.connect; undefined for plain http. */
  readonly tls: ConnectionOptions | undefined;
  /** Token header lines (CRLF-terminated) to insert into the request, or undefined. */
  readonly headerLines: string | undefined;
}

/** The auth mode sys_cred() derives from the files (empty = absent): no trust → none; key without cert → token; both → mtls. */
export function authModeOfFiles(files: CredentialFiles): AuthMode {
  if (files.trust === null) return 'none';
  if (files.cert === null && files.key !== null) return 'token';
  if (files.cert === null || files.key === null) return 'tls';
  return 'mtls';
}

/**
 * Builds the transport the station would use with its `cat` credential files (cups.*
 * for CUPS, tc.* for its LNS, tc-probe.ts). Over plain http the station never
 * calls conn_setup_tls, so its credential files (token included) are ignored and no
 * token header is sent: the simulator mirrors that rather than leaking a token in clear,
 * and labels the exchange `none`.
 */
export function stationTransport(target: CupsTarget, files: CredentialFiles, cat: 'cups' | 'tc' = 'cups'): CupsTransport {
  // Plain http uses no credential at all, whatever the files hold: the exchange is unauthenticated.
  if (!target.tls) return { authMode: 'none', tls: undefined, headerLines: undefined };
  const authMode = authModeOfFiles(files);
  if (files.trust === null) {
    throw invalid('simulator_no_trust', `${cat === 'cups' ? 'CUPS' : 'TC'} URI requires TLS but no trust configured: write the CA certificate (DER) to ${cat}.trust`, {
      field: `${cat}.trust`,
    });
  }
  const options: ConnectionOptions = {
    ca: certificatePem(files.trust, `${cat}.trust`),
    rejectUnauthorized: true,
    ...(target.servername !== undefined ? { servername: target.servername } : {}),
    checkServerIdentity: (_hostname, cert) => stationNameCheck(target.host, cert),
  };
  if (authMode === 'token') {
    return { authMode, tls: options, headerLines: tokenHeaderLines(files.key as Buffer) };
  }
  if (authMode === 'mtls') {
    options.cert = certificatePem(files.cert as Buffer, `${cat}.crt`);
    options.key = privateKey(files.key as Buffer, `${cat}.key`).export({ format: 'pem', type: 'pkcs8' });
  }
  return { authMode, tls: options, headerLines: undefined };
}

/**
 * Stands in for Node's checkServerIdentity, which matches an IP host against
 * iPAddress entries: the station does the opposite (PROTOCOL.md 7), and the
 * simulator must refuse what the station refuses. The station's TLS client never
 * resumes a session, and neither does this one, so the check runs on every handshake.
 */
function stationNameCheck(host: string, cert: PeerCertificate): Error | undefined {
  let names;
  try {
    names = serverCertificateNames(cert.raw);
  } catch (e) {
    if (isCupsError(e)) return Object.assign(new Error(`X509 - Certificate verification failed: ${e.message}`), { code: 'BADCERT_UNREADABLE' });
    throw e;
  }
  if (stationAcceptsServerName(host, names)) return undefined;
  const hint = isIP(host) !== 0 ? `; station 2.0.6 ignores IP address entries, so the certificate must name ${host} as a DNS name too (bscups pki init --force --server-name ${host})` : '';
  return Object.assign(
    new Error(`X509 - Certificate verification failed: the server certificate (${describeServerNames(names)}) does not name ${host}${hint}`),
    { code: 'BADCERT_CN_MISMATCH' },
  );
}

function isPem(data: Buffer): boolean {
  return data.subarray(0, 64).toString('latin1').includes('-----BEGIN ');
}

/** node:tls wants PEM; the station's files are DER (mbedtls also takes PEM, so pass PEM through). */
function certificatePem(data: Buffer, file: string): string {
  if (isPem(data)) return data.toString('latin1');
  try {
    return new X509Certificate(data).toString();
  } catch (cause) {
    throw new CupsError('simulator_bad_certificate', 'invalid_argument', `${file} is not a DER or PEM X.509 certificate; rewrite it from the provisioned credential`, { field: file }, { cause });
  }
}

/** The station's credential blobs carry SEC1 EC or PKCS#1 RSA keys; PKCS#8 is accepted too for hand-made homes. */
function privateKey(data: Buffer, file: string): KeyObject {
  if (isPem(data)) {
    try {
      return createPrivateKey(data.toString('latin1'));
    } catch (cause) {
      throw new CupsError('simulator_bad_private_key', 'invalid_argument', `${file} holds a PEM that is not a private key`, { field: file }, { cause });
    }
  }
  for (const type of ['sec1', 'pkcs1', 'pkcs8'] as const) {
    try {
      return createPrivateKey({ key: data, format: 'der', type });
    } catch {
      // Each DER flavour is tried in turn; only the last failure matters.
    }
  }
  throw invalid('simulator_bad_private_key', `${file} is neither a SEC1 EC, PKCS#1 RSA nor PKCS#8 DER private key; rewrite it from the provisioned credential`, {
    field: file,
  });
}

/** The station reads the token file as a C string and normalises it to CRLF header lines. */
function tokenHeaderLines(key: Buffer): string {
  const nul = key.indexOf(0);
  const text = (nul >= 0 ? key.subarray(0, nul) : key).toString('latin1');
  return validateToken(text);
}
