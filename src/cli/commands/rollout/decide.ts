import type { Command } from 'commander';
import { runActions } from '../../run-actions.js';
import { printRollout } from './print.js';

const VERBS = {
  approve: 'approve a rollout waiting for approval: it runs from wave 1. Only an operator other than its creator can (another API key, or locally another user)',
  deny: 'deny a rollout waiting for approval: it is aborted and nothing is offered. Only an operator other than its creator can; the creator can abort it',
} as const;

/** approve and deny: the decision on a rollout waiting for approval. */
export function register(parent: Command): void {
  for (const [verb, description] of Object.entries(VERBS) as [keyof typeof VERBS, string][]) {
    parent
      .command(verb)
      .description(description)
      .argument('<id>', 'rollout id')
      .action(async (id: string, _opts: unknown, cmd: Command) => {
        await runActions(cmd, async (actions, out) => {
          const v = await actions.decideRollout(id, verb);
          out.result(v, () => printRollout(out, v));
        });
      });
  }
}
