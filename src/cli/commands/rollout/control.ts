import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

const VERBS = {
  pause: 'stop offering the change to more stations; stations already offered carry on',
  resume: 'continue a paused or halted rollout (a halted one halts again while its failure budget is exceeded)',
  abort: 'stop for good and leave every station as it is now',
} as const;

/** pause, resume and abort: the same shape, one state change each. */
export function register(parent: Command): void {
  for (const [verb, description] of Object.entries(VERBS) as [keyof typeof VERBS, string][]) {
    parent
      .command(verb)
      .description(description)
      .argument('<id>', 'rollout id')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        await runActions(cmd, async (actions, out) => {
          const v = await actions.controlRollout(id, verb);
          out.result(v, () => printRollout(out, v));
        });
      });
  }
}
