import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { STATION_AUTH_MODES, type StationAuth, type StationAuthMode } from '../../../registry/auth-types.js';
import type { Station } from '../../../registry/types.js';
import { setStationAuthMode } from '../../../operations/auth-mode.js';
import { runWithRuntime } from '../../context.js';
import { euiArg } from './parse.js';
import { loadStation } from './provision.js';

export function register(parent: Command): void {
  parent
    .command('auth')
    .description(
      'show how the station authenticates (mode, certificates, tokens, pending rotations), or set its mode with --mode: ' +
        'mtls (client certificate), token (Authorization header over TLS) or none (only on a server started with --allow-unauthenticated)',
    )
    .argument('<eui>', 'station EUI')
    .option('--mode <mode>', `set the auth mode: ${STATION_AUTH_MODES.join(', ')}`)
    .action(async (eui: string, opts: { mode?: string }, cmd: Command) => {
      const id = euiArg(eui);
      const mode = opts.mode === undefined ? undefined : modeOf(opts.mode);
      await runWithRuntime(cmd, async (rt, out) => {
        if (mode !== undefined) await setStationAuthMode({ registry: rt.registry, blobs: rt.blobs, clock: () => new Date() }, id, mode);
        const { station, auth } = await loadStation(rt, id);
        out.result(authView(station, auth), () => printAuth(out.line, out.table, station, auth));
      });
    });
}

function modeOf(value: string): StationAuthMode {
  if ((STATION_AUTH_MODES as readonly string[]).includes(value)) return value as StationAuthMode;
  throw invalid('invalid_auth_mode', `--mode must be one of ${STATION_AUTH_MODES.join(', ')}, got "${value}"`, { field: '--mode' });
}

function inUse(station: Station, category: 'cups' | 'tc', crc: number): boolean {
  return (category === 'cups' ? station.reported?.cupsCredCrc : station.reported?.tcCredCrc) === crc;
}

/** The JSON shape for --json: the auth record plus which credentials the station reports holding. */
function authView(station: Station, auth: StationAuth): Record<string, unknown> {
  return {
    ...auth,
    certificates: auth.certificates.map((c) => ({ ...c, inUse: inUse(station, c.category, c.credCrc) })),
    tokens: auth.tokens.map((t) => ({ ...t, inUse: inUse(station, t.category, t.credCrc) })),
  };
}

function printAuth(
  line: (text?: string) => void,
  table: (rows: readonly Record<string, unknown>[], columns: readonly string[]) => void,
  station: Station,
  auth: StationAuth,
): void {
  line(`station ${auth.eui}: auth mode ${auth.mode}`);
  for (const r of auth.rotations) {
    line(`pending ${r.category} rotation since ${r.startedAt.toISOString()}: waiting for crc ${r.newCrc}${r.targetMode !== null && r.targetMode !== auth.mode ? `, then mode ${r.targetMode}` : ''}`);
  }
  line();
  line('certificates:');
  table(
    auth.certificates.map((c) => ({
      fingerprint: c.fingerprint,
      for: c.category,
      status: c.status + (c.retiredReason !== null ? ` (${c.retiredReason})` : ''),
      crc: c.credCrc,
      'in use': inUse(station, c.category, c.credCrc) ? 'yes' : '',
      'valid until': c.notAfter,
    })),
    ['fingerprint', 'for', 'status', 'crc', 'in use', 'valid until'],
  );
  line();
  line('tokens:');
  table(
    auth.tokens.map((t) => ({
      id: t.id,
      for: t.category,
      status: t.status + (t.retiredReason !== null ? ` (${t.retiredReason})` : '') + (isExposed(t) ? ', COMPROMISED' : ''),
      crc: t.credCrc,
      'in use': inUse(station, t.category, t.credCrc) ? 'yes' : '',
      created: t.createdAt,
    })),
    ['id', 'for', 'status', 'crc', 'in use', 'created'],
  );
  for (const t of auth.tokens.filter((x) => isExposed(x) && x.status === 'active')) {
    line();
    line(
      `token ${t.id} is compromised: ${t.compromisedReason ?? 'exposed'} (${t.compromisedAt?.toISOString() ?? ''}). ` +
        `It still works, because retiring it would lock the station out (it can only get a new credential by authenticating with this one). ` +
        `Replace it: bscups station rotate ${auth.eui}${t.category === 'tc' ? ' --for tc' : ''}; and serve stations over https only.`,
    );
  }
}

function isExposed(token: StationAuth['tokens'][number]): boolean {
  return token.compromisedAt !== undefined && token.compromisedAt !== null;
}
