import type { Rollout, RolloutState } from '../../core/rollout.js';
import type { WebhookEvent, WebhookEventType } from './webhook-types.js';

const ROLLOUT_EVENTS: Partial<Record<RolloutState, WebhookEventType>> = {
  halted: 'rollout.halted',
  completed: 'rollout.completed',
  rolled_back: 'rollout.rolled_back',
  waiting_for_approval: 'rollout.waiting_for_approval',
};

/** The webhook event of a rollout step that moves `rollout` into `state` (none when it stays or the state tells nobody). */
export function rolloutWebhookEvent(rollout: Rollout, state: RolloutState | undefined, haltReason: string | null | undefined, at: Date): WebhookEvent[] {
  if (state === undefined || state === rollout.state) return [];
  const type = ROLLOUT_EVENTS[state];
  if (type === undefined) return [];
  const change = rollout.change;
  return [
    {
      type,
      at,
      data: {
        rollout: {
          id: rollout.id,
          name: rollout.name,
          state,
          change: change.kind,
          ...(change.kind === 'firmware' ? { package: change.package } : {}),
          wave: rollout.wave,
          waves: rollout.waveSizes.length,
          ...(state === 'halted' ? { haltReason: haltReason ?? rollout.haltReason } : {}),
          rollbackOf: rollout.rollbackOf,
          ...(state === 'waiting_for_approval' ? { createdBy: rollout.createdBy } : {}),
        },
      },
    },
  ];
}

/** The webhook event of a rollout created to start later: when, in which windows, for how many stations. */
export function rolloutScheduledEvent(rollout: Rollout, stations: number, at: Date): WebhookEvent {
  const change = rollout.change;
  return {
    type: 'rollout.scheduled',
    at,
    data: {
      rollout: {
        id: rollout.id,
        name: rollout.name,
        state: rollout.state,
        change: change.kind,
        ...(change.kind === 'firmware' ? { package: change.package } : {}),
        startAt: rollout.plan.startAt ?? null,
        windows: [...(rollout.plan.windows ?? [])],
        stations,
        createdBy: rollout.createdBy,
      },
    },
  };
}
