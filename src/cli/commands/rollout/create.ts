import type { Command } from 'commander';
import { invalid } from '../../../core/errors.js';
import { DEFAULT_WAVES } from '../../../operations/rollouts.js';
import { collect } from '../../context.js';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

interface Options {
  name?: string;
  firmware?: string;
  tcUri?: string;
  cupsUri?: string;
  rotate?: string;
  allowDowngrade?: boolean;
  maxOffers?: string;
  label?: string[];
  model?: string;
  package?: string;
  stationVersion?: string;
  station?: string[];
  waves?: string;
  successThreshold?: string;
  failureBudget?: string;
  deadline?: string;
  soak?: string;
  healthSoak?: string;
  includeNew?: boolean;
  startAt?: string;
  window?: string[];
  revertUnhealthy?: boolean;
  maxOffersPerMinute?: string;
  requireApproval?: boolean;
  pauseAfterWave?: boolean;
}

export function register(parent: Command): void {
  parent
    .command('create')
    .description('start a rollout: one change, the stations it is for, waves and gates, and optionally when (--start-at) and in which time windows (--window) it may offer. The first wave starts at the next evaluation of a running bscups serve')
    .option('--name <text>', 'a name to recognise it by')
    .option('--firmware <package>', 'change: install this firmware library package')
    .option('--tc-uri <uri>', 'change: desired TC (LNS) URI, e.g. wss://lns.example.com:6887')
    .option('--cups-uri <uri>', 'change: desired CUPS URI')
    .option('--rotate <cups|tc|both>', 'change: a new certificate or token (the kind each station uses), issued by the station CA of the serving bscups serve (its BSCUPS_PKI_DIR, default ./data/pki); cannot be rolled back')
    .option('--allow-downgrade', 'firmware: also offer stations reporting a higher version')
    .option('--max-offers <n>', 'firmware: offers without the package changing before a station fails (default BSCUPS_MAX_OFFERS or 3)')
    .option('--label <selector>', 'only stations with k=v, k!=v, k (exists) or !k (absent); repeatable', collect)
    .option('--model <model>', 'only stations reporting this model')
    .option('--package <version>', 'only stations reporting this package now')
    .option('--station-version <prefix>', 'only stations whose reported station version starts with this')
    .option('--station <eui...>', 'only these stations')
    .option('--waves <list>', `cumulative wave sizes, counts or percentages (default ${DEFAULT_WAVES})`)
    .option('--success-threshold <share>', 'share of a wave that must confirm before the next starts (default 100%)')
    .option('--failure-budget <n|n%>', 'halt by itself when more stations than this failed (default 0)')
    .option('--deadline <duration>', 'a station offered the change must confirm within this, e.g. 27h (default: the regular interval + the health soak + the grace, 26.5h with the default flags: a healthy station gets the change only at its next regular check)')
    .option('--soak <duration>', 'wait this long after a wave passed before the next (default 0s)')
    .option('--health-soak <duration>', 'after the exchange that delivers its change (firmware: the call reporting the new package), a station that calls CUPS again within this fails (its LNS connection is failing); a quiet soak confirms it. 0 turns it off (default 30m for TC URI, TC credential and firmware rollouts)')
    .option('--include-new', 'stations that match later (registered, or first report) join the current wave')
    .option('--start-at <time>', 'start later: ISO 8601 with its offset (2026-12-08T02:00+01:00) or a duration from now (2h); the rollout is scheduled until then (abort cancels it)')
    .option('--window <spec>', 'offer only in this time window, "DAYS HH:MM-HH:MM ZONE", e.g. "Mon-Fri 01:00-05:00 Europe/Berlin"; repeatable. A station calls about once a day: one whose call misses every window is listed by rollout show', collect)
    .option('--revert-unhealthy', 'a station that fails gets back what it had before at its next exchange (its TC URI; its TC credential; for firmware its previous package, when in the library and signed for its keys, else the rollout halts). Default on for --tc-uri and --rotate tc; refused for --cups-uri and CUPS credentials')
    .option('--no-revert-unhealthy', 'leave a station that fails as it is')
    .option('--max-offers-per-minute <n>', 'pace: at most this many offers in any minute, this rollout across every server (default unpaced)')
    .option('--require-approval', 'wait (waiting_for_approval) until an operator other than you runs bscups rollout approve; serve --rollouts-need-approval makes every rollout wait')
    .option('--pause-after-wave', 'pause after each wave passes its gate, until bscups rollout resume')
    .action(async (opts: Options, cmd: Command) => {
      const { maxOffers: given, stationVersion, rotate, maxOffersPerMinute: pace, ...rest } = opts;
      if (pace !== undefined && !/^\d{1,6}$/.test(pace)) {
        throw invalid('invalid_max_offers_per_minute', `--max-offers-per-minute must be a whole number from 1 to 100000, got "${pace}"`, { field: '--max-offers-per-minute' });
      }
      if (rotate !== undefined && rotate !== 'cups' && rotate !== 'tc' && rotate !== 'both') {
        throw invalid('invalid_rotate', `--rotate must be cups, tc or both, got "${rotate}"`, { field: '--rotate' });
      }
      await runActions(cmd, async (actions, out, settings) => {
        const v = await actions.createRollout({
          ...rest,
          ...(rotate === undefined ? {} : { rotate }),
          ...(stationVersion === undefined ? {} : { version: stationVersion }),
          ...(pace === undefined ? {} : { maxOffersPerMinute: Number(pace) }),
          maxOffers: given === undefined ? settings.maxOffers : Number(given),
        });
        for (const w of v.warnings ?? []) out.note(`warning: ${w}`);
        out.result(v, () => printRollout(out, v));
      });
    });
}
