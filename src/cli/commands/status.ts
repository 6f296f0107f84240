import type { Command } from 'commander';
import { DEFAULT_SILENT_AFTER } from '../../operations/fleet.js';
import { runActions } from '../run-actions.js';
import type { z } from 'zod';
import type * as S from '../../http/admin/schemas.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('fleet summary: stations by sync state, package and model, firmware compliance per model (on the newest library package for it, behind, in progress), silent stations, upgrades by state, gateway health, and when certificates expire (stations\' client certificates, the server certificate, the station CA)')
    .option('--silent-after <duration>', `count a station silent after this long without contact (default ${DEFAULT_SILENT_AFTER})`)
    .action(async (opts: { silentAfter?: string }, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const s = await actions.fleetSummary(opts.silentAfter === undefined ? {} : { silentAfter: opts.silentAfter });
        out.result(s, () => {
          const rows = Object.entries(s.byState).map(([state, stations]) => ({ state: state.replaceAll('_', ' '), stations }));
          rows.push({ state: 'total', stations: s.total });
          rows.push({ state: `silent > ${opts.silentAfter ?? DEFAULT_SILENT_AFTER}`, stations: s.silent });
          out.table(rows, ['state', 'stations']);
          out.line();
          out.table(s.byPackage.map((p) => ({ package: p.value ?? '(none)', stations: p.count })), ['package', 'stations']);
          out.line();
          out.table(s.byModel.map((m) => ({ model: m.value ?? '(none)', stations: m.count })), ['model', 'stations']);
          out.line();
          out.table(complianceRows(s.compliance), ['model', 'newest package', 'stations', 'latest', 'behind', 'in progress', 'ahead']);
          out.line();
          out.table(Object.entries(s.upgrades).map(([state, upgrades]) => ({ 'upgrade state': state, upgrades })), ['upgrade state', 'upgrades']);
          out.line();
          // Healthy means no sign of failure in the rhythm of its calls, not proof that it works (README "Gateway health").
          out.table(Object.entries(s.byHealth).map(([health, stations]) => ({ health: health.replaceAll('_', ' '), stations })), ['health', 'stations']);
          if (s.certificates !== undefined) {
            out.line();
            out.table(certificateRows(s.certificates), ['certificate', 'expires', 'note']);
          }
        });
      });
    });
}

/** Per model: how many stations run the newest library package built for it, and how many could but do not. */
function complianceRows(models: z.infer<typeof S.FleetSummary>['compliance']) {
  return models.map((m) => {
    const known = m.newest !== null;
    const n = (x: number) => (known ? x : '-');
    return {
      model: m.model ?? '(never seen)',
      'newest package': m.newest ?? (m.model === null ? '-' : '(none in the library)'),
      stations: m.stations,
      latest: n(m.states.latest),
      behind: n(m.states.behind),
      'in progress': n(m.states.in_progress),
      ahead: n(m.states.ahead),
    };
  });
}

type Certificates = NonNullable<z.infer<typeof S.FleetSummary>['certificates']>;

/** One row per certificate the fleet depends on, with a warning when it has 30 days or less left. */
function certificateRows(c: Certificates): { certificate: string; expires: string; note: string }[] {
  const soon = (iso: string | null): string => {
    if (iso === null) return '';
    const days = (Date.parse(iso) - Date.now()) / 86_400_000;
    if (days < 0) return 'EXPIRED';
    return days <= 30 ? `expires in ${Math.floor(days)} days` : '';
  };
  const file = (name: string, f: Certificates['server']) =>
    f === null ? [] : [{ certificate: name, expires: f.notAfter ?? '?', note: f.error ?? soon(f.notAfter) }];
  const st = c.stations;
  return [
    ...file('server certificate', c.server),
    ...file('station CA', c.stationCa),
    { certificate: `station certificates (${st.stations})`, expires: st.nextExpiry ?? '-', note: [st.expired > 0 ? `${st.expired} EXPIRED` : '', `${st.expiringWithin['7d']} within 7d, ${st.expiringWithin['30d']} within 30d, ${st.expiringWithin['90d']} within 90d`].filter((t) => t !== '').join('; ') },
  ];
}
