import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { CupsError, invalid } from '../core/errors.js';
import { withRuntime } from '../runtime.js';
import type { OperatorActions } from './actions.js';
import { commandContext, type GlobalOptions } from './context.js';
import { createLocalActions } from './local-actions.js';
import type { Output } from './output.js';
import { createRemoteActions } from './remote-actions.js';
import { apiBase, createApiCall, isLoopback, type ApiTarget } from './remote-http.js';
import { requireExistingRegistry } from './registry-required.js';

/** Settings a command takes from this host's configuration, in either mode. */
export interface ActionSettings {
  /** Offers before an upgrade is marked failed, when the command is not told (BSCUPS_MAX_OFFERS or 3). */
  readonly maxOffers: number;
}

/** The admin API to talk to, from --server/--api-key or BSCUPS_SERVER/BSCUPS_API_KEY; undefined: local mode. */
export function remoteTarget(cmd: Command, env: NodeJS.ProcessEnv = process.env): ApiTarget | undefined {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const server = g.server ?? (env['BSCUPS_SERVER'] || undefined);
  if (server === undefined) return undefined;
  if (g.database !== undefined || g.blobs !== undefined) {
    throw invalid('conflicting_options', '--database and --blobs are for the local mode; with --server (or BSCUPS_SERVER) the server uses its own', { field: '--server' });
  }
  const apiKey = g.apiKey ?? (env['BSCUPS_API_KEY'] || undefined);
  if (apiKey === undefined) {
    throw new CupsError('api_key_required', 'unauthenticated', `--server ${server} needs an API key: pass --api-key or set BSCUPS_API_KEY (create one on the server with "bscups apikey create")`);
  }
  const base = apiBase(server);
  const caFile = g.serverCa ?? (env['BSCUPS_SERVER_CA'] || undefined);
  const allowHttp = g.allowHttp === true || /^(1|true|yes|on)$/i.test(env['BSCUPS_ALLOW_HTTP'] ?? '');
  if (base.startsWith('http:')) {
    if (caFile !== undefined) {
      throw invalid('conflicting_options', `--server-ca (or BSCUPS_SERVER_CA) verifies an https:// server; ${server} is plain http://`, { field: '--server-ca' });
    }
    // The key would cross the network in clear, and the answers (issued private keys, tokens) come back in clear.
    if (!isLoopback(base) && !allowHttp) {
      throw invalid(
        'insecure_server',
        `refusing to send the API key in clear to ${server}: use https:// (serve --admin-tls-cert/--admin-tls-key, with --server-ca for a private CA), or pass --allow-http (BSCUPS_ALLOW_HTTP=1) on a network you trust`,
        { field: '--server' },
      );
    }
  }
  return { base, apiKey, ...(caFile === undefined ? {} : { ca: readServerCa(caFile) }) };
}

/** The --server-ca file: PEM CA certificate(s), checked so a wrong file is named rather than a handshake failing. */
function readServerCa(path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (e) {
    throw invalid('invalid_server_ca', `--server-ca: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { field: '--server-ca' });
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid('invalid_server_ca', `--server-ca ${path} is not a PEM certificate (the CA that signed the server's certificate, e.g. ca.pem of "bscups pki init")`, { field: '--server-ca' });
  }
  return pem;
}

/**
 * Runs a command body over the operator actions: through the admin API when a
 * server is given, else on this host's registry and blob store (opened for the
 * command, blobs on first use, closed after).
 */
export async function runActions(cmd: Command, fn: (actions: OperatorActions, out: Output, settings: ActionSettings) => Promise<void>): Promise<void> {
  const { config, out } = commandContext(cmd);
  const settings: ActionSettings = { maxOffers: config.maxOffers };
  const target = remoteTarget(cmd);
  if (target !== undefined) {
    await fn(createRemoteActions(createApiCall(target)), out, settings);
    return;
  }
  const g = cmd.optsWithGlobals<{ database?: string }>();
  requireExistingRegistry(config.database, g.database !== undefined ? 'flag' : process.env['BSCUPS_DATABASE'] !== undefined ? 'env' : 'default');
  await withRuntime(config, (rt) => fn(createLocalActions(rt), out, settings), { lazyBlobs: true });
}

/**
 * For commands that work on the server host's own files (pki init, serve): a
 * clear refusal with --server rather than doing it on this machine.
 */
export function refuseRemote(cmd: Command, what: string): void {
  if (remoteTarget(cmd) === undefined) return;
  throw invalid('not_supported', `${what}; it is not supported through --server (BSCUPS_SERVER): run it on the server host without --server`, { field: '--server' });
}
