import type { Command } from 'commander';
import { localActor } from '../../../operations/context.js';
import { initPki } from '../../../operations/pki-init.js';
import { withRuntime } from '../../../runtime.js';
import { DEFAULT_VALID_DAYS } from '../../../pki/index.js';
import { collect, commandContext } from '../../context.js';
import { refuseRemote } from '../../run-actions.js';
import { pkiDirOption, pkiFiles } from './pki-dir.js';

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
      const { out, config } = commandContext(cmd);
      const dir = pkiDirOption(opts.dir);
      const files = pkiFiles(dir);
      const names = serverNames(opts.serverName);
      // Audited in the registry, like every change: the database of this host's server (--database / BSCUPS_DATABASE).
      const { ca, caCreated, server, warning } = await withRuntime(
        config,
        (rt) => initPki({ access: rt.access, clock: () => new Date(), actor: localActor() }, { dir, names, force: opts.force === true, ...(opts.validDays === undefined ? {} : { validDays: opts.validDays }), ...(opts.caValidDays === undefined ? {} : { caValidDays: opts.caValidDays }) }),
        { lazyBlobs: true },
      );
      const caExists = !caCreated;
      if (warning !== null) out.note(`warning: ${warning}`);
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
