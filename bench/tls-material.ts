import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCa, issueServerCert } from '../src/pki/index.js';
import type { TlsFiles } from './server-spec.js';

/** A server certificate for 127.0.0.1 from a fresh CA, written to `dir`; both bare and bscups servers use it. */
export async function benchTls(dir: string): Promise<TlsFiles & { readonly caPem: string; readonly caDer: Buffer }> {
  const ca = await createCa({ commonName: 'bscups bench CA' });
  const server = await issueServerCert(ca, { names: ['127.0.0.1'] });
  const cert = join(dir, 'server.pem');
  const key = join(dir, 'server.key');
  await writeFile(cert, server.certPem);
  await writeFile(key, server.keyPem);
  return { cert, key, caPem: ca.certPem, caDer: ca.certDer };
}
