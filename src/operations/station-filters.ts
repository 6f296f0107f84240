import { parseDuration } from '../core/duration.js';
import { invalid } from '../core/errors.js';
import { SYNC_STATES, type SyncState } from '../core/sync-status.js';
import { DEFAULT_HEALTH, HEALTH_STATES, type HealthState, type HealthThresholds } from '../core/health.js';
import { COMPLIANCE_STATES, type ComplianceState } from '../core/compliance.js';
import { STATION_SORTS, type LabelSelector, type StationQuery, type StationSort } from '../registry/fleet-types.js';

const LABEL_KEY = /^[A-Za-z0-9_.\-/]{1,63}$/;
const MAX_LABEL_VALUE = 256;

/** The listing filters as both adapters receive them: strings, as typed in a flag or a query string. */
export interface StationListInput {
  /** `k=v`, `k!=v`, `k` (exists) or `!k` (absent), all must hold. */
  readonly label?: readonly string[];
  /** Any of these sync states. */
  readonly state?: readonly string[];
  /** Seen, but not for longer than this duration (e.g. 26h). */
  readonly silent?: string;
  /** Any of these gateway health states (core/health.ts). */
  readonly health?: readonly string[];
  readonly model?: string;
  readonly package?: string;
  /** Prefix of the reported station version. */
  readonly version?: string;
  /** Substring of EUI or name. */
  readonly q?: string;
  /** Only stations whose CUPS client certificate expires within this duration (e.g. 30d), expired ones included. */
  readonly certExpiring?: string;
  /** Any of these firmware compliance states (latest, behind, in_progress, ahead, no_package, unknown). */
  readonly compliance?: readonly string[];
  readonly sort?: string;
  readonly order?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export const DEFAULT_PAGE_SIZE = 50;

export function validateLabelKey(key: string): string {
  if (!LABEL_KEY.test(key)) {
    throw invalid('invalid_label', `label key "${key}" must be 1 to 63 letters, digits or _ . - /`, { field: 'labels' });
  }
  return key;
}

export function validateLabelValue(key: string, value: string): string {
  if (value.length === 0 || value.length > MAX_LABEL_VALUE) {
    throw invalid('invalid_label', `label "${key}" needs a value of 1 to ${MAX_LABEL_VALUE} characters`, { field: 'labels' });
  }
  return value;
}

export function parseLabelSelector(text: string): LabelSelector {
  const ne = /^([^=!]+)!=(.*)$/s.exec(text);
  if (ne !== null) return { key: validateLabelKey(ne[1] as string), op: 'ne', value: validateLabelValue(ne[1] as string, ne[2] as string) };
  const eq = /^([^=!]+)=(.*)$/s.exec(text);
  if (eq !== null) return { key: validateLabelKey(eq[1] as string), op: 'eq', value: validateLabelValue(eq[1] as string, eq[2] as string) };
  if (text.startsWith('!')) return { key: validateLabelKey(text.slice(1)), op: 'absent' };
  return { key: validateLabelKey(text), op: 'exists' };
}

function parseState(text: string): SyncState {
  const state = text.replaceAll('-', '_');
  if (!(SYNC_STATES as readonly string[]).includes(state)) {
    throw invalid('invalid_state', `state "${text}" is not one of ${SYNC_STATES.join(', ')}`, { field: 'state' });
  }
  return state as SyncState;
}

function parseHealth(text: string): HealthState {
  const state = text.replaceAll('-', '_');
  if (!(HEALTH_STATES as readonly string[]).includes(state)) {
    throw invalid('invalid_health', `health "${text}" is not one of ${HEALTH_STATES.join(', ')}`, { field: 'health' });
  }
  return state as HealthState;
}

function parseCompliance(text: string): ComplianceState {
  const state = text.replaceAll('-', '_');
  if (!(COMPLIANCE_STATES as readonly string[]).includes(state)) {
    throw invalid('invalid_compliance', `compliance "${text}" is not one of ${COMPLIANCE_STATES.join(', ')}`, { field: 'compliance' });
  }
  return state as ComplianceState;
}

/** Turns adapter input into a registry query; every problem is an invalid_argument naming the field. */
export function toStationQuery(input: StationListInput, now: Date, thresholds: HealthThresholds = DEFAULT_HEALTH): StationQuery {
  const sort = input.sort ?? 'eui';
  if (!(STATION_SORTS as readonly string[]).includes(sort)) {
    throw invalid('invalid_sort', `sort must be one of ${STATION_SORTS.join(', ')}, got "${sort}"`, { field: 'sort' });
  }
  if (input.order !== undefined && input.order !== 'asc' && input.order !== 'desc') {
    throw invalid('invalid_order', `order must be asc or desc, got "${input.order}"`, { field: 'order' });
  }
  const states = (input.state ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '').map(parseState);
  const health = (input.health ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '').map(parseHealth);
  const compliance = (input.compliance ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '').map(parseCompliance);
  return {
    labels: (input.label ?? []).map(parseLabelSelector),
    ...(states.length === 0 ? {} : { states }),
    ...(health.length === 0 ? {} : { health: { states: health, reading: { now, intervalMs: thresholds.intervalMs, graceMs: thresholds.graceMs } } }),
    ...(input.silent === undefined ? {} : { silentSince: new Date(now.getTime() - parseDuration(input.silent, 'silent')) }),
    ...(input.model === undefined ? {} : { model: input.model }),
    ...(input.package === undefined ? {} : { package: input.package }),
    ...(input.version === undefined ? {} : { stationVersion: input.version }),
    ...(input.q === undefined ? {} : { text: input.q }),
    ...(input.certExpiring === undefined ? {} : { certExpiringBefore: new Date(now.getTime() + parseDuration(input.certExpiring, 'certExpiring')) }),
    ...(compliance.length === 0 ? {} : { compliance }),
    sort: sort as StationSort,
    descending: input.order === 'desc',
    limit: input.limit ?? DEFAULT_PAGE_SIZE,
    cursor: input.cursor,
  };
}
