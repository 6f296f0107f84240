import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { STATION_AUTH_MODES } from '../../../registry/auth-types.js';
import type { StationAuthJson, StationJson } from '../../actions.js';
import type { Output } from '../../output.js';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';
import { at } from './view.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('auth')
    .description(
      'show how the station authenticates (mode, certificates, tokens, pending rotations), or set its mode with --mode: ' +
        'mtls (client certificate), token (Authorization header over TLS) or none (only on a server started with --allow-unauthenticated)',
    )
    .argument('<eui>', 'station EUI')
    .option('--mode <mode>', `set the auth mode: ${STATION_AUTH_MODES.join(', ')}; refused when the station holds no credential for it`)
    .option('--force', 'with --mode: set it even though the station holds no credential for that mode (it will be refused at its next call)')
    .action(async (eui: string, opts: { mode?: string; force?: boolean }, cmd: Command) => {
      const id = euiArg(eui);
      if (opts.mode !== undefined && !(STATION_AUTH_MODES as readonly string[]).includes(opts.mode)) {
        throw invalid('invalid_auth_mode', `--mode must be one of ${STATION_AUTH_MODES.join(', ')}, got "${opts.mode}"`, { field: '--mode' });
      }
      await runActions(cmd, async (actions, out) => {
        const auth = opts.mode === undefined ? await actions.stationAuth(id) : await actions.setAuthMode(id, opts.mode, opts.force === true);
        const station = await actions.showStation(id);
        out.result(authView(station, auth), () => printAuth(out, station, auth));
      });
    });
}

function inUse(station: StationJson, category: 'cups' | 'tc', crc: number): boolean {
  return (category === 'cups' ? station.reported?.cupsCredCrc : station.reported?.tcCredCrc) === crc;
}

/** The JSON shape for --json: the auth record plus which credentials the station reports holding. */
function authView(station: StationJson, auth: StationAuthJson): Record<string, unknown> {
  return {
    ...auth,
    certificates: auth.certificates.map((c) => ({ ...c, inUse: inUse(station, c.category, c.credCrc) })),
    tokens: auth.tokens.map((t) => ({ ...t, inUse: inUse(station, t.category, t.credCrc) })),
  };
}

function printAuth(out: Output, station: StationJson, auth: StationAuthJson): void {
  out.line(`station ${auth.eui}: auth mode ${auth.mode}`);
  for (const r of auth.rotations) {
    out.line(`pending ${r.category} rotation since ${r.startedAt}: waiting for crc ${formatCrc(r.newCrc)}${r.targetMode !== null && r.targetMode !== auth.mode ? `, then mode ${r.targetMode}` : ''}`);
  }
  out.line();
  out.line('certificates:');
  out.table(
    auth.certificates.map((c) => ({
      fingerprint: c.fingerprint,
      for: c.category,
      status: c.status + (c.retiredReason !== null ? ` (${c.retiredReason})` : ''),
      crc: formatCrc(c.credCrc),
      'in use': inUse(station, c.category, c.credCrc) ? 'yes' : '',
      'valid until': at(c.notAfter),
    })),
    ['fingerprint', 'for', 'status', 'crc', 'in use', 'valid until'],
  );
  out.line();
  out.line('tokens:');
  out.table(
    auth.tokens.map((t) => ({
      id: t.id,
      for: t.category,
      status: t.status + (t.retiredReason !== null ? ` (${t.retiredReason})` : '') + (t.compromisedAt !== null ? ', COMPROMISED' : ''),
      crc: formatCrc(t.credCrc),
      'in use': inUse(station, t.category, t.credCrc) ? 'yes' : '',
      created: at(t.createdAt),
    })),
    ['id', 'for', 'status', 'crc', 'in use', 'created'],
  );
  for (const t of auth.tokens.filter((x) => x.compromisedAt !== null && x.status === 'active')) {
    out.line();
    out.line(
      `token ${t.id} is compromised: ${t.compromisedReason ?? 'exposed'} (${t.compromisedAt ?? ''}). ` +
        `It still works, because retiring it would lock the station out (it can only get a new credential by authenticating with this one). ` +
        `Replace it: bscups station rotate ${auth.eui}${t.category === 'tc' ? ' --for tc' : ''}; and serve stations over https only.`,
    );
  }
}
