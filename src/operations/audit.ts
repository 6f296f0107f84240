import type { AuditEntry, Page } from '../registry/index.js';
import { authorize, type OperationContext } from './context.js';
import { parseInstant } from './fleet.js';
import { DEFAULT_PAGE_SIZE } from './station-filters.js';

export interface AuditListInput {
  readonly action?: string;
  readonly actor?: string;
  readonly target?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** The audit log, most recent first. It never holds secrets, so any role may read it. */
export async function listAudit(ctx: OperationContext, input: AuditListInput): Promise<Page<AuditEntry>> {
  authorize(ctx, 'viewer', 'reading the audit log');
  const since = parseInstant(input.since, 'since');
  const until = parseInstant(input.until, 'until');
  return ctx.access.queryAudit({
    ...(input.action === undefined ? {} : { action: input.action }),
    ...(input.actor === undefined ? {} : { actor: input.actor }),
    ...(input.target === undefined ? {} : { target: input.target }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    limit: input.limit ?? DEFAULT_PAGE_SIZE,
    cursor: input.cursor,
  });
}
