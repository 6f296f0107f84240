import { stateWords, type RolloutMember } from '../../core/rollout.js';
import type { FirmwarePackage, RolloutEventRecord } from '../../registry/index.js';
import type { RolloutView } from '../../operations/rollouts.js';

/** JSON of library entries and rollouts: what the API answers and the CLI prints with --json. */

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function packageJson(p: FirmwarePackage) {
  return { package: p.package, size: p.size, sha256: p.sha256, keyCrcs: p.signatures.map((s) => s.keyCrc), models: [...p.models], createdBy: p.createdBy, createdAt: p.createdAt.toISOString() };
}

export function rolloutJson(v: RolloutView) {
  const { rollout: r, progress: p, outsideWindows, reverts, warnings } = v;
  return {
    id: r.id,
    name: r.name,
    change: { ...r.change },
    selector: { ...r.selector },
    plan: { ...r.plan },
    state: r.state,
    stateText: stateWords(r),
    approval: r.approval === null ? null : { decision: r.approval.decision, by: r.approval.by, at: r.approval.at.toISOString() },
    createdByKeyId: r.createdByIdentity?.startsWith('key:') === true ? r.createdByIdentity.slice(4) : null,
    pacing: { ...v.pacing },
    wave: r.wave,
    waves: p.waves.map((w) => ({ ...w })),
    totals: { ...p.totals },
    failuresAllowed: p.failuresAllowed,
    gate: p.gate,
    haltReason: r.haltReason,
    eta: iso(p.eta),
    startAt: r.plan.startAt ?? null,
    windows: [...(r.plan.windows ?? [])],
    ...(outsideWindows === undefined
      ? {}
      : { outsideWindows: { count: outsideWindows.count, members: outsideWindows.members.map((m) => ({ ...m, lastCallAt: m.lastCallAt.toISOString() })) } }),
    etaNote: p.etaNote,
    ...(warnings === undefined ? {} : { warnings: [...warnings] }),
    rollbackOf: r.rollbackOf,
    ...(reverts === undefined ? {} : { reverts: { ...reverts } }),
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function memberJson(m: RolloutMember) {
  const revert = m.revert === null || m.revert === undefined ? null : { state: m.revert.state, reason: m.revert.reason, at: m.revert.at.toISOString(), doneAt: iso(m.revert.doneAt) };
  return { eui: m.eui, wave: m.wave, state: m.state, reason: m.reason, offeredAt: iso(m.offeredAt), deadlineAt: iso(m.deadlineAt), doneAt: iso(m.doneAt), revert };
}

export function rolloutEventJson(e: RolloutEventRecord) {
  return { id: e.id, at: e.at.toISOString(), type: e.type, wave: e.wave, eui: e.eui, message: e.message };
}
