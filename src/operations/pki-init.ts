import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { conflict } from '../core/errors.js';
import { createCa, issueServerCert, type IssuedCert } from '../pki/index.js';
import { loadCa, pkiFiles } from '../pki/pki-folder.js';
import { ensurePrivateDir, stagePrivateFile, type StagedFile } from '../pki/private-files.js';
import { auditOutsideRegistry, requireRole, type OperationContext } from './context.js';

export interface PkiInitInput {
  readonly dir: string;
  /** Names in the server certificate. */
  readonly names: readonly string[];
  /** Issue the server certificate again over an existing one, keeping the CA. */
  readonly force: boolean;
}

export interface PkiInitResult {
  readonly dir: string;
  readonly files: ReturnType<typeof pkiFiles>;
  readonly ca: IssuedCert;
  readonly caCreated: boolean;
  readonly server: IssuedCert;
}

/**
 * `pki init`: creates the station CA (unless one exists) and issues the server
 * certificate. The files are not in the registry's database, so the audit row
 * cannot share their transaction; it is written after every file is staged
 * beside its name and before any is put in place (one rename each). A crash
 * before the row leaves the folder as it was (plus staged copies); after it,
 * the row may precede the files by the renames, never the other way round.
 */
export async function initPki(ctx: Pick<OperationContext, 'access' | 'clock' | 'actor'>, input: PkiInitInput): Promise<PkiInitResult> {
  requireRole(ctx.actor, 'admin', 'creating the PKI');
  const { dir } = input;
  const files = pkiFiles(dir);
  const caExists = await exists(files.caCert);
  if (!input.force) {
    const existing = (await Promise.all(Object.values(files).map(async (f) => ((await exists(f)) ? f : null)))).filter((f) => f !== null);
    if (existing.length > 0) {
      throw conflict(
        'pki_exists',
        `${existing.join(', ')} already exist; pass --force to issue a new server certificate under the existing CA (the CA is never replaced: stations trust it)`,
      );
    }
  }
  await ensurePrivateDir(dir);
  const ca = caExists ? await loadCa(dir) : await createCa();
  const server = await issueServerCert(ca, { names: [...input.names] });
  const staged: StagedFile[] = [];
  try {
    if (!caExists) staged.push(await stagePrivateFile(files.caCert, ca.certPem), await stagePrivateFile(files.caKey, ca.keyPem));
    staged.push(await stagePrivateFile(files.serverCert, server.certPem), await stagePrivateFile(files.serverKey, server.keyPem));
    await auditOutsideRegistry(ctx, 'pki.init', resolve(dir), {
      caCreated: !caExists,
      caFingerprint: ca.fingerprint256,
      serverFingerprint: server.fingerprint256,
      names: [...input.names],
      force: input.force,
    });
    // The CA files are new (never replaced); the server's are replaced only with --force.
    for (const f of staged) await f.commit(input.force && (f.path === files.serverCert || f.path === files.serverKey));
  } finally {
    for (const f of staged) await f.discard();
  }
  return { dir, files, ca, caCreated: !caExists, server };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    // Any failure to reach the file counts as absent; writing it later reports the real problem.
    return false;
  }
}
