import { chmod, mkdir, writeFile } from 'node:fs/promises';

export { DEFAULT_PKI_DIR, loadCa, loadCaCertificate, pkiDirOption, pkiFiles } from '../../../pki/pki-folder.js';

/** Writes a file; private keys (`secret`) are readable by the owner only, also when the file existed before. */
export async function writePkiFile(path: string, data: string | Uint8Array, secret: boolean): Promise<void> {
  await writeFile(path, data, { mode: secret ? 0o600 : 0o644 });
  if (secret) await chmod(path, 0o600);
}

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}
