import { once } from 'node:events';
import type { Command } from 'commander';
import { loadConfig, type ConfigInput } from '../../config.js';
import { invalid } from '../../core/errors.js';
import { createServerLogger } from '../../http/logger.js';
import { serve } from '../../http/serve.js';
import { openRuntime } from '../../runtime.js';
import type { GlobalOptions } from '../context.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the CUPS server (POST /update-info) until SIGINT/SIGTERM')
    .option('--host <address>', 'address to bind (env BSCUPS_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to bind, 0 for any free one (env BSCUPS_PORT, default 6090)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM server certificate (env BSCUPS_TLS_CERT); reloaded on change and on SIGHUP')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (env BSCUPS_TLS_KEY)')
    .option('--client-ca <file>', 'PEM CA that signs station client certificates: enables mutual TLS (env BSCUPS_CLIENT_CA)')
    .option('--allow-unauthenticated', 'serve stations whose auth mode is none, without credentials: a local quickstart only (env BSCUPS_ALLOW_UNAUTHENTICATED)')
    .option('--request-timeout <seconds>', 'a client must send its whole request, and over TLS finish its handshake, within this (env BSCUPS_REQUEST_TIMEOUT, default 10)')
    .option('--headers-timeout <seconds>', 'a client must send its headers within this, and may not be silent longer during the TLS handshake (env BSCUPS_HEADERS_TIMEOUT, default 5)')
    .option('--keep-alive-timeout <seconds>', 'close an idle keep-alive connection after this (env BSCUPS_KEEP_ALIVE_TIMEOUT, default 5)')
    .option('--idle-timeout <seconds>', 'close a connection whose answer has moved no bytes for this long: a stalled download, answers the client does not read (env BSCUPS_IDLE_TIMEOUT, default 60)')
    .option('--max-connections <n>', 'close new connections at once beyond this many open (env BSCUPS_MAX_CONNECTIONS, default 4096, lowered to fit the open-file limit)')
    .option('--event-max-age-days <days>', 'delete station events older than this (env BSCUPS_EVENT_MAX_AGE_DAYS, default 90)')
    .option('--events-per-station <n>', 'keep at most this many events per station (env BSCUPS_EVENTS_PER_STATION, default 1000)')
    .option('--refusal-rows-per-station <n>', 'keep at most this many coalesced refusal rows per station (env BSCUPS_REFUSAL_ROWS_PER_STATION, default 100)')
    .option('--unknown-stations-max <n>', 'remember at most this many unregistered EUIs; a new one beyond evicts the longest silent (env BSCUPS_UNKNOWN_STATIONS_MAX, default 10000)')
    .option('--registry-cache <on|off>', 'serve station and auth records from memory, kept current across replicas (env BSCUPS_REGISTRY_CACHE, default on)')
    .option('--last-seen-interval <seconds>', 'write last-seen stamps together this often, 0 for one write per poll (env BSCUPS_LAST_SEEN_INTERVAL, default 1)')
    .option('--log-format <format>', 'json, pretty (one readable line) or auto: pretty on a terminal (env BSCUPS_LOG_FORMAT, default auto)')
    .option('--admin-host <address>', 'address of the admin API, never reachable on the station port (env BSCUPS_ADMIN_HOST, default 127.0.0.1)')
    .option('--admin-port <port>', 'port of the admin API, 0 for any free one (env BSCUPS_ADMIN_PORT, default 6091)')
    .option('--admin-tls-cert <file>', 'serve the admin API and dashboard over HTTPS with this PEM certificate (env BSCUPS_ADMIN_TLS_CERT); reloaded on change and on SIGHUP')
    .option('--admin-tls-key <file>', 'PEM private key of --admin-tls-cert (env BSCUPS_ADMIN_TLS_KEY)')
    .option('--rollout-interval <seconds>', 'evaluate rollouts this often; every replica does, each step is written once (env BSCUPS_ROLLOUT_INTERVAL, default 10)')
    .option('--admin-request-timeout <seconds>', 'an admin client must send its whole request, and over TLS finish its handshake, within this until its API key is checked; an authenticated upload is bounded by --admin-idle-timeout instead (env BSCUPS_ADMIN_REQUEST_TIMEOUT, default 10)')
    .option('--admin-headers-timeout <seconds>', 'an admin client must send its headers within this, and may not be silent longer during the TLS handshake (env BSCUPS_ADMIN_HEADERS_TIMEOUT, default 5)')
    .option('--admin-keep-alive-timeout <seconds>', 'close an idle keep-alive admin connection after this (env BSCUPS_ADMIN_KEEP_ALIVE_TIMEOUT, default 5)')
    .option('--admin-idle-timeout <seconds>', 'close an admin connection with no traffic either way for this long (env BSCUPS_ADMIN_IDLE_TIMEOUT, default 60)')
    .option('--admin-max-connections <n>', 'close new admin connections at once beyond this many open; its own budget, so a flood there never reaches the station port (env BSCUPS_ADMIN_MAX_CONNECTIONS, default 256, lowered to fit the open-file limit)')
    .option('--max-connections-per-address <n>', 'close new station connections at once beyond this many open from one address; 0 for none, as gateways behind NAT share an address (env BSCUPS_MAX_CONNECTIONS_PER_ADDRESS, default 0)')
    .option('--drain-timeout <seconds>', 'on SIGTERM/SIGINT, close idle connections at once and give answers in progress this long before closing theirs (env BSCUPS_DRAIN_TIMEOUT, default 10)')
    .option('--refusal-log-interval <seconds>', 'log repeated refusals (same reason, same source) as one line per this interval with a count (env BSCUPS_REFUSAL_LOG_INTERVAL, default 10)')
    .option('--health-early <seconds>', 'gateway health: a CUPS call sooner than this after the previous one is early, a sign its LNS connection fails (env BSCUPS_HEALTH_EARLY, default 3600)')
    .option('--health-early-count <n>', 'gateway health: this many early calls in a row make a station lns_failing; one alone is a restart (env BSCUPS_HEALTH_EARLY_COUNT, default 2)')
    .option('--health-interval <seconds>', "gateway health: a station's regular interval until its own calls show another (env BSCUPS_HEALTH_INTERVAL, default 86400, the station's own)")
    .option('--health-grace <seconds>', 'gateway health: a station not seen for its regular interval plus this is silent (env BSCUPS_HEALTH_GRACE, default 7200)')
    .option('--renew-station-certs-before <duration>', 'offer a new certificate through CUPS to each mtls station whose certificate expires within this, e.g. 30d; the old one is retired once the station uses the new one, every renewal audited (env BSCUPS_RENEW_STATION_CERTS_BEFORE, default off)')
    .option('--max-offers-per-minute <n>', 'with --renew-station-certs-before: start at most this many renewals per minute, per server (env BSCUPS_MAX_OFFERS_PER_MINUTE, default 60)')
    .option('--rollouts-need-approval', 'every new rollout waits (state waiting_for_approval) until an operator other than its creator runs bscups rollout approve; set the env BSCUPS_ROLLOUTS_NEED_APPROVAL=true where the CLI runs against the database directly too (default off)')
    .option('--max-concurrent-downloads <n>', 'stream at most this many firmware downloads at once, per server; a station over it gets its other changes now and the firmware at its next call, never an error (env BSCUPS_MAX_CONCURRENT_DOWNLOADS, default 0: no cap)')
    .option('--webhook-timeout <seconds>', 'a webhook receiver must answer each delivery within this (env BSCUPS_WEBHOOK_TIMEOUT, default 10)')
    .option('--webhook-disable-after <n>', 'disable a webhook after this many failed deliveries in a row, with an audit row (env BSCUPS_WEBHOOK_DISABLE_AFTER, default 20)')
    .option('--webhook-interval <seconds>', 'look for due webhook deliveries this often (env BSCUPS_WEBHOOK_INTERVAL, default 2)')
    .option('--webhook-first-retry <seconds>', 'retry a failed webhook delivery after this, then twice as long each time up to an hour; at most 30 (env BSCUPS_WEBHOOK_FIRST_RETRY, default 10)')
    .option('--webhook-retry-for <seconds>', 'retry a webhook delivery this long before it is dead (env BSCUPS_WEBHOOK_RETRY_FOR, default 90000, 25 h)')
    .option('--notice-interval <seconds>', 'look this often for stations gone silent and certificates entering 30, 7 or 1 days of their expiry, each told to webhooks once (env BSCUPS_NOTICE_INTERVAL, default 60)')
    .addHelpText(
      'after',
      '\nPoint a gateway at it by writing the URI into its cups.uri, e.g.\n  echo https://192.0.2.10:6090 > cups.uri\nand bind with --host 0.0.0.0 so it is reachable from the network. For gateways on a network:\n' +
        '  bscups pki init --server-name cups.example.com\n  bscups serve --host 0.0.0.0 --tls-cert data/pki/server.pem --tls-key data/pki/server.key --client-ca data/pki/ca.pem\n' +
        'Without TLS only --allow-unauthenticated stations get answers (local tests).',
    )
    .action(async (opts: ConfigInput, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (g.server !== undefined) {
        throw invalid('not_supported', 'serve runs a server on this host; --server is for the commands that talk to one: leave it out', { field: '--server' });
      }
      const config = loadConfig({
        ...opts,
        database: g.database,
        blobs: g.blobs,
        logLevel: g.logLevel,
      });
      const logger = createServerLogger({ level: config.logLevel, format: config.logFormat });
      const runtime = await openRuntime(config, { serving: true });
      try {
        const server = await serve(runtime, config, logger);
        // SIGHUP swaps the server certificate in place (the reloader logs the outcome). Without TLS
        // there is nothing to reload, but the default action of SIGHUP (exit) must not take the
        // server down when the terminal that started it closes or a reload script sends it.
        // Installed before the listening line: whoever reads that line may signal at once.
        const onHangup = (): void => {
          if (server.tls === undefined && server.admin.tls === undefined) logger.info('SIGHUP ignored: serving plain HTTP, there is no certificate to reload');
          void server.tls?.reload('SIGHUP').catch(() => undefined);
          void server.admin.tls?.reload('SIGHUP').catch(() => undefined);
        };
        process.on('SIGHUP', onHangup);
        // Tests and scripts read the bound address from this line on stdout.
        // The first-start admin key goes to stdout only, never to the log, and only this once.
        const { admin } = server;
        if (g.json === true) {
          const line = { listening: server.url, admin: admin.url, dashboard: admin.dashboard, ...(admin.firstAdminKey === null ? {} : { firstAdminKey: admin.firstAdminKey }) };
          process.stdout.write(`${JSON.stringify(line)}\n`);
        } else if (admin.firstAdminKey !== null) {
          process.stdout.write(
            `dashboard: ${admin.dashboard} (sign in with the key below)\nadmin API: ${admin.url} (reference: ${admin.url}/docs)\nfirst start: created an admin API key; it is shown only now, store it:\n  ${admin.firstAdminKey}\n`,
          );
        }
        await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
        process.off('SIGHUP', onHangup);
        logger.info('shutting down');
        await server.close();
      } finally {
        await runtime.close();
      }
    });
}
