import type { Command } from 'commander';
import type { StationJson } from '../../actions.js';
import { cellText } from '../../output.js';
import { runActions } from '../../run-actions.js';
import { euiArg } from './parse.js';
import { at, healthText, stationView, syncText } from './view.js';
import { formatCrc } from '../../../core/crc-format.js';

export function register(parent: Command): void {
  parent
    .command('show')
    .description('show one station: desired vs reported side by side, firmware, problem, recent events')
    .argument('<eui>', 'station EUI')
    .option('--events <n>', 'how many recent events to show', '20')
    .action(async (eui: string, opts: { events: string }, cmd: Command) => {
      const id = euiArg(eui);
      await runActions(cmd, async (actions, out) => {
        const station = await actions.showStation(id);
        const events = (await actions.stationEvents(id, { limit: Math.min(1000, Math.max(1, Number(opts.events) || 20)) })).items;
        const auth = await actions.stationAuth(id);
        const authMode = auth.mode;
        const compliance = await actions.stationCompliance(id);
        out.result({ ...stationView(station), authMode, compliance: { state: compliance.state, newest: compliance.newest }, events }, () => {
          out.line(`station ${station.eui} (${station.id6})${station.name === null ? '' : `  ${station.name}`}`);
          out.line(`labels: ${Object.entries(station.labels).map(([k, val]) => `${k}=${val}`).join(' ') || '-'}`);
          out.line(`last seen: ${cellText(at(station.lastSeenAt))} from ${cellText(station.lastRemoteAddress)}`);
          out.line(`status: ${syncText(station)}`);
          out.line(`health: ${healthText(station)}`);
          out.line(`firmware compliance: ${complianceText(compliance)}`);
          out.line(`auth: ${authMode}${auth.rotations.length > 0 ? ` (rotation pending: ${auth.rotations.map((r) => r.category).join(', ')})` : ''}; see "bscups station auth ${station.eui}"`);
          out.line();
          out.table(sideBySide(station), ['field', 'desired', 'reported', 'state']);
          out.line();
          out.line('recent events:');
          // A coalesced refusal row stands for many requests: say how many, and since when.
          out.table(
            events.map((e) => ({ at: at(e.at), type: e.type, message: e.count === undefined ? e.message : `${e.message} (${e.count}x since ${e.firstAt ?? '?'})` })),
            ['at', 'type', 'message'],
          );
        });
      });
    });
}

/** The state in words, with the package a station behind could have. */
function complianceText(c: { readonly state: string; readonly newest: string | null }): string {
  switch (c.state) {
    case 'latest':
      return `latest (runs ${c.newest ?? '?'}, the newest library package for its model)`;
    case 'behind':
      return `behind: could have ${c.newest ?? '?'} (the newest library package for its model)`;
    case 'in_progress':
      return `in progress: a firmware target or an active firmware rollout is bringing it a package (newest for its model: ${c.newest ?? '?'})`;
    case 'ahead':
      return `ahead: runs a higher version than the newest library package for its model (${c.newest ?? '?'})`;
    case 'no_package':
      return 'no package: the firmware library has none built for its model';
    default:
      return 'unknown: never seen, so its model is not known';
  }
}

function sideBySide(s: StationJson): Record<string, unknown>[] {
  const r = s.reported;
  const row = (field: string, desired: unknown, reported: unknown, differs: boolean) => ({
    field,
    desired,
    reported,
    state: desired === null || desired === undefined ? '' : differs ? 'pending' : 'ok',
  });
  const fw = s.firmware;
  return [
    row('cupsUri', s.desired.cupsUri, r?.cupsUri, s.desired.cupsUri !== r?.cupsUri),
    row('tcUri', s.desired.tcUri, r?.tcUri, s.desired.tcUri !== r?.tcUri),
    row('cupsCredCrc', hexCrc(s.desired.cupsCred?.crc), hexCrc(r?.cupsCredCrc), s.desired.cupsCred?.crc !== r?.cupsCredCrc),
    row('tcCredCrc', hexCrc(s.desired.tcCred?.crc), hexCrc(r?.tcCredCrc), s.desired.tcCred?.crc !== r?.tcCredCrc),
    { ...row('package', fw?.package, r?.package, fw?.state !== 'upgraded'), ...(fw ? { state: `${fw.state} (${fw.offers}/${fw.maxOffers} offers)` } : {}) },
    row('keys', undefined, r?.keys?.map(formatCrc), false),
    row('station', undefined, r?.station, false),
    row('model', undefined, r?.model, false),
  ];
}

/** A CRC as the station logs it, or absent. */
function hexCrc(crc: number | null | undefined): string | null | undefined {
  return crc === null || crc === undefined ? crc : formatCrc(crc);
}
