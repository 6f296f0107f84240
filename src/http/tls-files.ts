import { constants, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ServerOptions } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { CupsError } from '../core/errors.js';
import { certificateFingerprint } from '../pki/index.js';

/** The HTTPS options createApp passes to Fastify. */
export type HttpsServerOptions = Pick<ServerOptions, 'cert' | 'key' | 'ca' | 'requestCert' | 'rejectUnauthorized' | 'secureOptions'>;

/** Where the server's TLS material lives (PEM files). */
export interface TlsFilePaths {
  /** Server certificate, optionally followed by its chain (--tls-cert). */
  readonly cert: string;
  /** Server private key (--tls-key). */
  readonly key: string;
  /** CA that signs station client certificates (--client-ca); without it no client certificate is requested. */
  readonly clientCa?: string | undefined;
}

/** What the server certificate says, for logs. */
export interface ServerCertificateInfo {
  readonly subject: string;
  readonly fingerprint: string;
  readonly notAfter: string;
}

/** The files' contents, checked to form a usable secure context. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa: Buffer | undefined;
  readonly info: ServerCertificateInfo;
}

/** The flags that name the files, for messages (the admin listener has its own). */
export interface TlsFlags {
  readonly cert: string;
  readonly key: string;
}

/** Reads and checks the TLS files; throws invalid_argument `invalid_tls_files` naming the file to fix. */
export async function readTlsMaterial(paths: TlsFilePaths, flags: TlsFlags = { cert: '--tls-cert', key: '--tls-key' }): Promise<TlsMaterial> {
  const [cert, key, clientCa] = await Promise.all([
    readTlsFile(paths.cert, flags.cert),
    readTlsFile(paths.key, flags.key),
    paths.clientCa === undefined ? undefined : readTlsFile(paths.clientCa, '--client-ca'),
  ]);
  let info: ServerCertificateInfo;
  try {
    const x = new X509Certificate(cert);
    info = { subject: x.subject, fingerprint: certificateFingerprint(x.raw), notAfter: new Date(x.validTo).toISOString() };
  } catch (e) {
    throw bad(`${flags.cert} ${paths.cert} is not a PEM certificate`, e);
  }
  if (clientCa !== undefined) {
    try {
      new X509Certificate(clientCa);
    } catch (e) {
      throw bad(`--client-ca ${paths.clientCa} is not a PEM CA certificate`, e);
    }
  }
  try {
    // Builds the context the server would use: catches a key that does not match the certificate.
    createSecureContext(secureContextOptions({ cert, key, clientCa }));
  } catch (e) {
    throw bad(`${flags.cert} ${paths.cert} and ${flags.key} ${paths.key} do not form a usable pair (${(e as Error).message})`, e);
  }
  return { cert, key, clientCa, info };
}

/**
 * The server options: client certificates are requested when a client CA is
 * configured but never required at the handshake, because token stations send
 * none; the auth step judges what arrived (chain, validity, EUI, allow-list).
 */
export function httpsOptions(material: Pick<TlsMaterial, 'cert' | 'key' | 'clientCa'>): HttpsServerOptions {
  return {
    cert: material.cert,
    key: material.key,
    secureOptions: NO_SESSION_TICKETS,
    ...(material.clientCa === undefined ? {} : { ca: material.clientCa, requestCert: true, rejectUnauthorized: false }),
  };
}

/**
 * No session tickets: a station never resumes a session (PROTOCOL.md 7.4), so
 * issuing tickets after every full handshake is CPU spent for nothing. Without
 * them (and without a server session cache, which node leaves off) every
 * handshake is a full one, whatever the client.
 */
const NO_SESSION_TICKETS = constants.SSL_OP_NO_TICKET;

/** The part of the options a running server swaps with setSecureContext. */
export function secureContextOptions(material: Pick<TlsMaterial, 'cert' | 'key' | 'clientCa'>): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    secureOptions: NO_SESSION_TICKETS,
    ...(material.clientCa === undefined ? {} : { ca: material.clientCa }),
  };
}

async function readTlsFile(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw bad(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
}

function bad(message: string, cause: unknown): CupsError {
  return new CupsError('invalid_tls_files', 'invalid_argument', `${message}; "bscups pki init" makes a CA and a server certificate`, undefined, { cause });
}
