import { callsOverPlainHttp, plainHttpWarning } from '../core/tls-only-credential.js';
import type { StationRegistry } from '../registry/types.js';

/**
 * Warnings for a new CUPS credential of a station whose last exchange came over
 * plain HTTP (the CUPS URI it reported): the exchange holds such a credential
 * back (core/decide.ts), so the operator learns it now, not from a rotation
 * that stays pending. Empty for a station never seen or calling over https.
 */
export async function plainHttpWarnings(registry: Pick<StationRegistry, 'getStation'>, eui: string, kind: 'certificate' | 'token'): Promise<string[]> {
  const uri = (await registry.getStation(eui))?.reported?.cupsUri;
  return callsOverPlainHttp(uri) ? [plainHttpWarning(eui, kind, uri as string)] : [];
}
