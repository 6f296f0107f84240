import { conflict } from '../core/errors.js';
import type { StationAuth, StationAuthMode } from '../registry/auth-types.js';
import type { NewAuditEntry } from '../registry/index.js';
import type { CredentialDeps } from './credential-delivery.js';

/** Which kinds of CUPS credential a station holds (issued to it, not retired): what a mode can be checked against. */
export interface HeldCupsCredentials {
  readonly certificate: boolean;
  readonly token: boolean;
}

export function heldCupsCredentials(auth: Pick<StationAuth, 'certificates' | 'tokens'>): HeldCupsCredentials {
  return {
    certificate: auth.certificates.some((c) => c.category === 'cups' && c.status === 'active'),
    token: auth.tokens.some((t) => t.category === 'cups' && t.status === 'active'),
  };
}

/**
 * Why switching `eui` to `mode` would lock it out, or null when it would not:
 * `mtls` needs a CUPS certificate, `token` a CUPS token the station holds (the
 * rule `revoke` follows). A station switched to a mode it has no credential for
 * is refused at its next call and falls back to its backup set, then to nothing.
 * Every way of setting a mode (`station auth --mode`, an import row, the API,
 * the dashboard) asks this; `--force` overrides it.
 */
export function modeLockOut(eui: string, mode: StationAuthMode, held: HeldCupsCredentials): string | null {
  if (mode === 'mtls' && !held.certificate) {
    return `station ${eui} holds no CUPS client certificate, so in auth mode mtls it would be refused at its next call; issue one first ("bscups station issue-cert ${eui} --out DIR"), or pass --force`;
  }
  if (mode === 'token' && !held.token) {
    return `station ${eui} holds no CUPS token, so in auth mode token it would be refused at its next call; issue one first ("bscups station issue-token ${eui} --out DIR"), or pass --force`;
  }
  return null;
}

/**
 * Sets a station's auth mode. The operator's explicit choice wins over the mode
 * a pending CUPS rotation would switch to, so that rotation keeps its
 * credential but no longer changes the mode; both in one transaction. Refused,
 * unless `force`, when the station holds no credential for the new mode.
 */
export async function setStationAuthMode(
  deps: CredentialDeps,
  eui: string,
  mode: StationAuthMode,
  force = false,
  audit?: (set: { eui: string; mode: StationAuthMode; was: StationAuthMode }) => NewAuditEntry | null,
): Promise<{ eui: string; mode: StationAuthMode; was: StationAuthMode }> {
  return deps.registry.changeCredentials(
    eui,
    ({ auth }) => {
      if (!force && mode !== auth.mode) {
        const lockOut = modeLockOut(eui, mode, heldCupsCredentials(auth));
        if (lockOut !== null) throw conflict('no_credential_for_mode', lockOut, { field: 'mode' });
      }
      const pending = auth.rotations.find((r) => r.category === 'cups');
      const overridden = pending !== undefined && pending.targetMode !== null && pending.targetMode !== mode;
      return {
        change: {
          mode,
          ...(overridden ? { startRotations: [{ category: 'cups' as const, newCrc: pending.newCrc, targetMode: null }] } : {}),
          events: [{ type: 'config', message: `auth mode set to ${mode} (was ${auth.mode})${force ? ' (--force)' : ''}` }],
        },
        result: { eui, mode, was: auth.mode },
      };
    },
    deps.clock(),
    deps.faults,
    audit,
  );
}
