import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { certificateFingerprint } from '../pki/fingerprint.js';
import type { StationCertificateSummary } from '../registry/index.js';
import type { OperationContext } from './context.js';

/** The certificate files whose lifetimes the summary reports, as the host running the operation knows them. */
export interface CertificateFiles {
  /** The station listener's certificate (serve --tls-cert). */
  readonly server?: string | undefined;
  /** The station CA certificate (ca.pem of the PKI folder): every station certificate ends with it. */
  readonly stationCa?: string | undefined;
}

/** One certificate file: when it expires, or why it could not be read. */
export interface CertificateFileLifetime {
  readonly file: string;
  readonly subject: string | null;
  readonly fingerprint: string | null;
  readonly notAfter: Date | null;
  /** Why the file could not be read (missing, not a certificate); null when it was. */
  readonly error: string | null;
}

/** The fleet's certificate lifetimes: the stations' client certificates, the server certificate and the station CA. */
export interface CertificateLifetimes {
  readonly stations: StationCertificateSummary;
  /** Null when the host knows no such file (plain HTTP, no PKI folder). */
  readonly server: CertificateFileLifetime | null;
  readonly stationCa: CertificateFileLifetime | null;
}

/** Reads the first certificate of a PEM (or DER) file; a file that is not there is null, so an absent PKI is no error. */
export async function readCertificateLifetime(file: string, optional = false): Promise<CertificateFileLifetime | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    if (optional && code === 'ENOENT') return null;
    return { file, subject: null, fingerprint: null, notAfter: null, error: `cannot read ${file}: ${code}` };
  }
  try {
    const cert = new X509Certificate(bytes);
    return { file, subject: cert.subject.replaceAll('\n', ', '), fingerprint: certificateFingerprint(cert.raw), notAfter: new Date(cert.validTo), error: null };
  } catch {
    return { file, subject: null, fingerprint: null, notAfter: null, error: `${file} is not a PEM or DER certificate` };
  }
}

/** Counts the stations' certificates at the context's clock and reads the given files (the CA file is optional). */
export async function certificateLifetimes(ctx: Pick<OperationContext, 'fleet' | 'clock'>, files: CertificateFiles): Promise<CertificateLifetimes> {
  const [stations, server, stationCa] = await Promise.all([
    ctx.fleet.summarizeStationCertificates(ctx.clock()),
    files.server === undefined ? null : readCertificateLifetime(files.server),
    files.stationCa === undefined ? null : readCertificateLifetime(files.stationCa, true),
  ]);
  return { stations, server, stationCa };
}
