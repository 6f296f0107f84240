import { isDowngrade, newestPackage, type VersionedPackage } from './versions.js';

/**
 * Firmware compliance: how far each station is from the newest library package
 * built for its reported model. Pure; the registry counts stations by reported
 * model and package in SQL and these functions name the states.
 *
 * - latest: reports the newest package for its model
 * - ahead: reports a semantic version higher than that (installed outside the library); not behind
 * - in_progress: not on it, with an unfinished firmware target or a pending or offered member of an active firmware rollout
 * - behind: could have the newest package and nothing is bringing it there
 * - no_package: the library holds no package built for its model
 * - unknown: never reported a model (never seen)
 */
export const COMPLIANCE_STATES = ['latest', 'behind', 'in_progress', 'ahead', 'no_package', 'unknown'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

/** A library entry as compliance reads it. */
export interface LibraryPackage extends VersionedPackage {
  /** Models it is built for; empty: any. */
  readonly models: readonly string[];
}

/** The newest library package per model (newestPackage decides the order). */
export interface NewestByModel {
  /** Every model some package names, with its newest package (any-model packages count for it too). */
  readonly models: ReadonlyMap<string, string>;
  /** The newest package built for any model: what every model not named above could have; null when none. */
  readonly anyModel: string | null;
}

export function newestByModel(library: readonly LibraryPackage[]): NewestByModel {
  const anyModel = library.filter((p) => p.models.length === 0);
  const named = new Set(library.flatMap((p) => p.models));
  const models = new Map<string, string>();
  for (const model of named) {
    const newest = newestPackage([...anyModel, ...library.filter((p) => p.models.includes(model))]);
    if (newest !== undefined) models.set(model, newest.package);
  }
  return { models, anyModel: newestPackage(anyModel)?.package ?? null };
}

/** The newest package a station reporting `model` could have; null when the library has none for it. */
export function newestFor(newest: NewestByModel, model: string | null): string | null {
  if (model === null) return null;
  return newest.models.get(model) ?? newest.anyModel;
}

/** A station's compliance from what it reports and whether a firmware change is under way for it. */
export function complianceState(newest: string | null, reported: { readonly model: string | null; readonly package: string | null }, changing: boolean): ComplianceState {
  if (reported.model === null) return 'unknown';
  if (newest === null) return 'no_package';
  if (reported.package === newest) return 'latest';
  if (isDowngrade(reported.package, newest)) return 'ahead';
  return changing ? 'in_progress' : 'behind';
}

/** One station's compliance: its state and the newest package its model could have (null: none). */
export interface StationCompliance {
  readonly state: ComplianceState;
  readonly newest: string | null;
}

/** Stations that report the same model and package, and how many of them a firmware change is under way for. */
export interface ReportedGroup {
  readonly model: string | null;
  readonly package: string | null;
  readonly stations: number;
  readonly changing: number;
}

export interface ModelCompliance {
  /** null: stations that never reported a model. */
  readonly model: string | null;
  /** The newest library package for the model; null: none (no_package, unknown). */
  readonly newest: string | null;
  readonly stations: number;
  readonly states: Readonly<Record<ComplianceState, number>>;
}

export function emptyStates(): Record<ComplianceState, number> {
  return Object.fromEntries(COMPLIANCE_STATES.map((s) => [s, 0])) as Record<ComplianceState, number>;
}

/**
 * Compliance per model from the station counts by (model, package): models the
 * library has a package for first (most stations first), then those it has
 * none for, then the stations never seen.
 */
export function summarizeCompliance(library: readonly LibraryPackage[], groups: readonly ReportedGroup[]): ModelCompliance[] {
  const newest = newestByModel(library);
  const byModel = new Map<string | null, { newest: string | null; stations: number; states: Record<ComplianceState, number> }>();
  for (const g of groups) {
    const n = newestFor(newest, g.model);
    let row = byModel.get(g.model);
    if (row === undefined) byModel.set(g.model, (row = { newest: n, stations: 0, states: emptyStates() }));
    row.stations += g.stations;
    const changing = Math.min(g.changing, g.stations);
    row.states[complianceState(n, g, true)] += changing;
    row.states[complianceState(n, g, false)] += g.stations - changing;
  }
  const rank = (m: ModelCompliance) => (m.model === null ? 2 : m.newest === null ? 1 : 0);
  return [...byModel]
    .map(([model, row]) => ({ model, ...row }))
    .sort((a, b) => rank(a) - rank(b) || b.stations - a.stations || String(a.model).localeCompare(String(b.model)));
}

/** The panel's sentence: "1,204 of 1,310 linux gateways on 2.1.0; 98 behind; 8 in progress". */
export function describeCompliance(m: ModelCompliance, locale = 'en-US'): string {
  const n = (x: number) => x.toLocaleString(locale);
  if (m.model === null) return `${n(m.stations)} never seen: model unknown`;
  if (m.newest === null) return `${n(m.stations)} ${m.model} gateways: no library package for this model`;
  const parts = [`${n(m.states.latest)} of ${n(m.stations)} ${m.model} gateways on ${m.newest}`, `${n(m.states.behind)} behind`, `${n(m.states.in_progress)} in progress`];
  if (m.states.ahead > 0) parts.push(`${n(m.states.ahead)} ahead`);
  return parts.join('; ');
}
