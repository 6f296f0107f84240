import { parseDuration } from '../core/duration.js';
import { invalid } from '../core/errors.js';
import { parseEui } from '../protocol/index.js';
import type { EventType, FleetSummary, Page, SigningKey, StationEvent, UnknownStation } from '../registry/index.js';
import { authorize, healthOf, type OperationContext } from './context.js';
import { certificateLifetimes, type CertificateFiles, type CertificateLifetimes } from './certificate-lifetimes.js';
import { DEFAULT_PAGE_SIZE } from './station-filters.js';
import { stationNotFound } from './credential-delivery.js';
import type { StationCompliance } from '../core/compliance.js';

/** Stations poll once a day by default (PROTOCOL.md 5.2): a little over that means gone quiet. */
export const DEFAULT_SILENT_AFTER = '26h';

const EVENT_TYPES: readonly EventType[] = [
  'exchange', 'reported_changed', 'firmware_offered', 'firmware_upgraded', 'firmware_failed', 'problem', 'error', 'config', 'auth', 'rollout', 'health',
];

export interface EventListInput {
  readonly eui?: string;
  readonly type?: readonly string[];
  /** ISO 8601 instant, inclusive. */
  readonly since?: string;
  /** ISO 8601 instant, exclusive. */
  readonly until?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

/** The fleet summary with the certificate lifetimes (`certificateFiles`: the files the host running it knows). */
export async function fleetSummary(
  ctx: OperationContext,
  options: { readonly silentAfter?: string; readonly certificateFiles?: CertificateFiles } = {},
): Promise<FleetSummary & { readonly certificates: CertificateLifetimes }> {
  authorize(ctx, 'viewer', 'reading the fleet summary');
  const silentMs = parseDuration(options.silentAfter ?? DEFAULT_SILENT_AFTER, 'silentAfter');
  const now = ctx.clock();
  const t = healthOf(ctx);
  const [summary, certificates] = await Promise.all([
    ctx.fleet.summarizeFleet({ silentSince: new Date(now.getTime() - silentMs), health: { now, intervalMs: t.intervalMs, graceMs: t.graceMs } }),
    certificateLifetimes(ctx, options.certificateFiles ?? {}),
  ]);
  return { ...summary, certificates };
}

/** One station's firmware compliance: latest, behind (and the package it could have), in progress, ahead, no package, unknown. */
export async function stationCompliance(ctx: OperationContext, eui: string): Promise<StationCompliance & { readonly eui: string }> {
  authorize(ctx, 'viewer', 'reading a station');
  const id = parseEui(eui, 'eui');
  const found = await ctx.fleet.stationCompliance(id);
  if (found === undefined) throw stationNotFound(id);
  return { eui: id, ...found };
}

export function parseInstant(text: string | undefined, field: string): Date | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalid('invalid_time', `${field} must be an ISO 8601 time such as 2026-11-30T12:00:00Z, got "${text}"`, { field });
  return new Date(ms);
}

export async function listEvents(ctx: OperationContext, input: EventListInput): Promise<Page<StationEvent>> {
  authorize(ctx, 'viewer', 'reading events');
  const types = (input.type ?? []).flatMap((t) => t.split(',')).filter((t) => t !== '');
  for (const t of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) {
      throw invalid('invalid_event_type', `event type "${t}" is not one of ${EVENT_TYPES.join(', ')}`, { field: 'type' });
    }
  }
  const since = parseInstant(input.since, 'since');
  const until = parseInstant(input.until, 'until');
  return ctx.fleet.queryEvents({
    ...(input.eui === undefined ? {} : { eui: parseEui(input.eui, 'eui') }),
    ...(types.length === 0 ? {} : { types: types as EventType[] }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    limit: input.limit ?? DEFAULT_PAGE_SIZE,
    cursor: input.cursor,
  });
}

/** A page of unregistered EUIs that asked, most recent first (the table is bounded: serve --unknown-stations-max). */
export async function listUnknownStations(
  ctx: OperationContext,
  input: { readonly limit?: number | undefined; readonly cursor?: string | undefined } = {},
): Promise<Page<UnknownStation>> {
  authorize(ctx, 'viewer', 'listing unknown stations');
  const limit = input.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('invalid_limit', `limit must be an integer from 1 to 1000, got ${String(limit)}`, { field: 'limit' });
  return ctx.registry.listUnknownPage({ limit, cursor: input.cursor });
}

export async function listSigningKeys(ctx: OperationContext): Promise<SigningKey[]> {
  authorize(ctx, 'viewer', 'listing signing keys');
  return ctx.registry.listSigningKeys();
}
