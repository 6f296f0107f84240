import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, notFound } from '../core/errors.js';
import { loadIssuedCert } from './issued-cert.js';
import type { IssuedCert } from './types.js';

// The PKI folder `bscups pki init` writes, read by the CLI and by the server (API
// credential rotation) alike.

/** Where `pki init` keeps the station CA and the server certificate unless told otherwise. */
export const DEFAULT_PKI_DIR = './data/pki';

/** The PKI folder: --pki-dir / --dir, else env BSCUPS_PKI_DIR, else ./data/pki. */
export function pkiDirOption(value: string | undefined): string {
  return value ?? (process.env['BSCUPS_PKI_DIR'] || DEFAULT_PKI_DIR);
}

/** The files of a PKI folder. */
export function pkiFiles(dir: string): { caCert: string; caKey: string; serverCert: string; serverKey: string } {
  return {
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
  };
}

/** The station CA with its key, to issue station certificates. */
export async function loadCa(dir: string): Promise<IssuedCert> {
  const files = pkiFiles(dir);
  const [cert, key] = await Promise.all([readPkiFile(files.caCert, dir), readPkiFile(files.caKey, dir)]);
  return loadIssuedCert(cert.toString('utf8'), key.toString('utf8'));
}

/** The station CA certificate alone (DER), the trust a station needs to verify this server. */
export async function loadCaCertificate(dir: string): Promise<Buffer> {
  const pem = await readPkiFile(pkiFiles(dir).caCert, dir);
  try {
    return Buffer.from(new X509Certificate(pem).raw);
  } catch {
    throw invalid('invalid_ca', `${pkiFiles(dir).caCert} is not a PEM certificate; recreate the PKI with "bscups pki init --dir ${dir}"`);
  }
}

async function readPkiFile(path: string, dir: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw notFound('pki_not_found', `no station CA at ${path}; create one with "bscups pki init --dir ${dir}" or point --pki-dir at it`);
    }
    throw invalid('unreadable_file', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
