import type { StationAuthMode } from '../registry/auth-types.js';
import type { NewAuditEntry } from '../registry/index.js';
import type { CredentialDeps } from './credential-delivery.js';

/**
 * Sets a station's auth mode. The operator's explicit choice wins over the mode
 * a pending CUPS rotation would switch to, so that rotation keeps its
 * credential but no longer changes the mode; both in one transaction.
 */
export async function setStationAuthMode(
  deps: CredentialDeps,
  eui: string,
  mode: StationAuthMode,
  audit?: (set: { eui: string; mode: StationAuthMode; was: StationAuthMode }) => NewAuditEntry | null,
): Promise<{ eui: string; mode: StationAuthMode; was: StationAuthMode }> {
  return deps.registry.changeCredentials(
    eui,
    ({ auth }) => {
      const pending = auth.rotations.find((r) => r.category === 'cups');
      const overridden = pending !== undefined && pending.targetMode !== null && pending.targetMode !== mode;
      return {
        change: {
          mode,
          ...(overridden ? { startRotations: [{ category: 'cups' as const, newCrc: pending.newCrc, targetMode: null }] } : {}),
          events: [{ type: 'config', message: `auth mode set to ${mode} (was ${auth.mode})` }],
        },
        result: { eui, mode, was: auth.mode },
      };
    },
    deps.clock(),
    deps.faults,
    audit,
  );
}
