import type { Command } from 'commander';
import type { OperatorActions } from '../../actions.js';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

type Verb = 'pause' | 'resume' | 'abort' | 'approve' | 'deny';

const VERBS: Record<Verb, string> = {
  pause: 'stop offering the change to more stations; stations already offered carry on',
  resume: 'continue a paused or halted rollout (a halted one halts again while its failure budget is exceeded)',
  abort: 'stop for good and leave every station as it is now',
  approve: 'approve a rollout waiting for approval: it runs from wave 1. Only an operator other than its creator can (another API key, or locally another user)',
  deny: 'deny a rollout waiting for approval: it is aborted and nothing is offered. Only an operator other than its creator can; the creator can abort it',
};

function act(actions: OperatorActions, id: string, verb: Verb) {
  return verb === 'approve' || verb === 'deny' ? actions.decideRollout(id, verb) : actions.controlRollout(id, verb);
}

/** pause, resume, abort, approve and deny: the same shape, one state change each. */
export function register(parent: Command): void {
  for (const [verb, description] of Object.entries(VERBS) as [Verb, string][]) {
    parent
      .command(verb)
      .description(description)
      .argument('<id>', 'rollout id')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        await runActions(cmd, async (actions, out) => {
          const v = await act(actions, id, verb);
          out.result(v, () => printRollout(out, v));
        });
      });
  }
}
