import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { conflict } from '../../../core/errors.js';
import { checkValidDays } from '../../../operations/credentials.js';
import { createCa, DEFAULT_VALID_DAYS, issueServerCert, type IssuedCert } from '../../../pki/index.js';
import { collect, commandContext } from '../../context.js';
import { refuseRemote } from '../../run-actions.js';
import { ensureDir, loadCa, pkiDirOption, pkiFiles, writePkiFile } from './pki-dir.js';

const DEFAULT_NAMES = ['localhost', '127.0.0.1'];

export function register(parent: Command): void {
  parent
    .command('init')
    .description(
      'create the station CA (ca.pem, ca.key) and a server certificate (server.pem, server.key) it signs. Stations get ca.pem as ' +
        'cups.trust and client certificates from the same CA. With --force an existing CA is kept and only the server certificate is ' +
        'issued again (for new names or before it expires); a running server picks it up without a restart',
    )
    .option('--dir <dir>', 'PKI folder (env BSCUPS_PKI_DIR, default ./data/pki)')
    .option(
      '--server-name <host>',
      'DNS name or IP address gateways use to reach this server, spelled as in their cups.uri; repeatable, added to localhost and ' +
        '127.0.0.1. An IP address is written as a DNS name and as an IP address, as Basics Station checks only the first and other clients only the second',
      collect,
    )
    .option('--force', 'issue the server certificate again over an existing one, keeping the CA')
    .option('--valid-days <n>', `lifetime of the server certificate in days (default ${DEFAULT_VALID_DAYS.server}); "bscups serve" warns when it has less than 30 days left`, (v) => Number(v))
    .option('--ca-valid-days <n>', `lifetime of a new station CA in days (default ${DEFAULT_VALID_DAYS.ca}); every station certificate stops working when it expires`, (v) => Number(v))
    .action(async (opts: { dir?: string; serverName?: string[]; force?: boolean; validDays?: number; caValidDays?: number }, cmd: Command) => {
      refuseRemote(cmd, 'pki init writes the station CA and the server certificate into the PKI folder of the host it runs on, which the server must read');
      const { out } = commandContext(cmd);
      const serverDays = checkValidDays('certificate', opts.validDays);
      const caDays = checkValidDays('certificate', opts.caValidDays);
      const dir = pkiDirOption(opts.dir);
      const files = pkiFiles(dir);
      const names = serverNames(opts.serverName);
      const caExists = await exists(files.caCert);
      if (!opts.force) {
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
      await ensureDir(dir);
      let ca: IssuedCert;
      if (caExists) {
        ca = await loadCa(dir);
      } else {
        ca = await createCa(caDays === undefined ? {} : { validDays: caDays });
        await writePkiFile(files.caCert, ca.certPem, false);
        await writePkiFile(files.caKey, ca.keyPem, true);
      }
      const server = await issueServerCert(ca, { names, ...(serverDays === undefined ? {} : { validDays: serverDays }) });
      // Clients refuse a certificate whose issuer has expired, whatever the certificate's own dates say.
      if (server.notAfter.getTime() > ca.notAfter.getTime()) {
        out.note(`warning: the server certificate (until ${server.notAfter.toISOString()}) outlives the station CA (until ${ca.notAfter.toISOString()}); it stops working when the CA expires`);
      }
      await writePkiFile(files.serverCert, server.certPem, false);
      await writePkiFile(files.serverKey, server.keyPem, true);

      const serveCmd = `bscups serve --host 0.0.0.0 --tls-cert ${files.serverCert} --tls-key ${files.serverKey} --client-ca ${files.caCert}`;
      out.result(
        {
          dir,
          ca: { file: files.caCert, key: files.caKey, fingerprint: ca.fingerprint256, created: !caExists, notAfter: ca.notAfter },
          server: { file: files.serverCert, key: files.serverKey, names, fingerprint: server.fingerprint256, notAfter: server.notAfter },
          serve: serveCmd,
        },
        () => {
          out.line(`${caExists ? 'kept the station CA' : 'created the station CA'} ${files.caCert} (key ${files.caKey}, owner-only)`);
          out.line(`issued the server certificate ${files.serverCert} for ${names.join(', ')} (key ${files.serverKey})`);
          out.line();
          out.line('Serve gateways over TLS with:');
          out.line(`  ${serveCmd}`);
          out.line('then give each station its credentials, e.g.:');
          out.line(`  bscups station issue-cert <EUI> --pki-dir ${dir} --out <station-home>`);
          out.line('and point its cups.uri at https://<one of the names above>:6090');
        },
      );
    });
}

/** The names given, then the defaults they do not repeat: adding the public name must not cut off local access. */
function serverNames(given: readonly string[] = []): string[] {
  const byKey = new Map<string, string>();
  for (const name of [...given, ...DEFAULT_NAMES]) if (!byKey.has(name.toLowerCase())) byKey.set(name.toLowerCase(), name);
  return [...byKey.values()];
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
