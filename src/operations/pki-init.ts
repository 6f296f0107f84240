import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { conflict } from '../core/errors.js';
import { createCa, issueServerCert, type IssuedCert } from '../pki/index.js';
import { loadCa, pkiFiles } from '../pki/pki-folder.js';
import { ensurePrivateDir, stagePrivateFile, type StagedFile } from '../pki/private-files.js';
import { auditOutsideRegistry, requireRole, type OperationContext } from './context.js';
import { checkValidDays } from './credentials.js';

export interface PkiInitInput {
  readonly dir: string;
  /** Names in the server certificate. */
  readonly names: readonly string[];
  /** Issue the server certificate again over an existing one, keeping the CA. */
  readonly force: boolean;
  /** Lifetime of the server certificate in days; DEFAULT_VALID_DAYS.server without it. */
  readonly validDays?: number;
  /** Lifetime of a new station CA in days; only when the CA is created. */
  readonly caValidDays?: number;
}

export interface PkiInitResult {
  readonly dir: string;
  readonly files: ReturnType<typeof pkiFiles>;
  readonly ca: IssuedCert;
  readonly caCreated: boolean;
  readonly server: IssuedCert;
  /** Set when the server certificate outlives the CA: clients refuse it once its issuer has expired. */
  readonly warning: string | null;
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
  const serverDays = checkValidDays('certificate', input.validDays);
  const caDays = checkValidDays('certificate', input.caValidDays);
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
  if (caExists && caDays !== undefined) {
    throw conflict('pki_exists', `${files.caCert} already exists and is kept (stations trust it): --ca-valid-days applies only when the CA is created; leave it out`);
  }
  await ensurePrivateDir(dir);
  const ca = caExists ? await loadCa(dir) : await createCa(caDays === undefined ? {} : { validDays: caDays });
  const server = await issueServerCert(ca, { names: [...input.names], ...(serverDays === undefined ? {} : { validDays: serverDays }) });
  // Clients refuse a certificate whose issuer has expired, whatever the certificate's own dates say.
  const warning =
    server.notAfter.getTime() > ca.notAfter.getTime()
      ? `the server certificate (until ${server.notAfter.toISOString()}) outlives the station CA (until ${ca.notAfter.toISOString()}); it stops working when the CA expires`
      : null;
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
      serverNotAfter: server.notAfter.toISOString(),
      ...(caExists ? {} : { caNotAfter: ca.notAfter.toISOString() }),
    });
    // The CA files are new (never replaced); the server's are replaced only with --force.
    for (const f of staged) await f.commit(input.force && (f.path === files.serverCert || f.path === files.serverKey));
  } finally {
    for (const f of staged) await f.discard();
  }
  return { dir, files, ca, caCreated: !caExists, server, warning };
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
