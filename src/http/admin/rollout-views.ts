import type { RolloutMember } from '../../core/rollout.js';
import type { FirmwarePackage, RolloutEventRecord } from '../../registry/index.js';
import type { RolloutView } from '../../operations/rollouts.js';

/** JSON of library entries and rollouts: what the API answers and the CLI prints with --json. */

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function packageJson(p: FirmwarePackage) {
  return { package: p.package, size: p.size, sha256: p.sha256, keyCrcs: p.signatures.map((s) => s.keyCrc), models: [...p.models], createdBy: p.createdBy, createdAt: p.createdAt.toISOString() };
}

export function rolloutJson({ rollout: r, progress: p, warnings }: RolloutView) {
  return {
    id: r.id,
    name: r.name,
    change: { ...r.change },
    selector: { ...r.selector },
    plan: { ...r.plan },
    state: r.state,
    wave: r.wave,
    waves: p.waves.map((w) => ({ ...w })),
    totals: { ...p.totals },
    failuresAllowed: p.failuresAllowed,
    gate: p.gate,
    haltReason: r.haltReason,
    eta: iso(p.eta),
    etaNote: p.etaNote,
    ...(warnings === undefined ? {} : { warnings: [...warnings] }),
    rollbackOf: r.rollbackOf,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function memberJson(m: RolloutMember) {
  return { eui: m.eui, wave: m.wave, state: m.state, reason: m.reason, offeredAt: iso(m.offeredAt), deadlineAt: iso(m.deadlineAt), doneAt: iso(m.doneAt) };
}

export function rolloutEventJson(e: RolloutEventRecord) {
  return { id: e.id, at: e.at.toISOString(), type: e.type, wave: e.wave, eui: e.eui, message: e.message };
}
