import type { StationAuthMode } from './station-auth-model.js';

/**
 * A CUPS credential this server can only complete over TLS: a client
 * certificate (mode mtls) is presented in the TLS handshake, and a token is
 * refused over plain HTTP (core/authenticate.ts). Sent over a plain-HTTP
 * exchange it would carry a private key or a token in clear, and its rotation
 * would never complete, since the station keeps calling over plain HTTP.
 * Only this server's own credential is held back: the TC credential is for
 * the LNS connection, which is not this server's to judge.
 */
export function needsTls(mode: StationAuthMode | null): mode is 'mtls' | 'token' {
  return mode === 'mtls' || mode === 'token';
}

/** Why a CUPS credential was held back from a plain-HTTP exchange: the station's visible problem. */
export function heldBackProblem(mode: 'mtls' | 'token', reportedCupsUri: string | null): string {
  const what = mode === 'mtls' ? 'a client certificate can only be used over TLS' : 'a token is only accepted over TLS (it would travel in clear)';
  return (
    `cupsCred not sent: ${what}, and this station calls CUPS over plain HTTP (${reportedCupsUri ?? 'it reports no cups.uri'}); ` +
    'serve with --tls-cert and point its cups.uri at https://; the credential is sent once it calls over https'
  );
}

/** A plain-HTTP CUPS URI, as a station reports the one it calls: what `issue-cert` and `rotate` warn about. */
export function callsOverPlainHttp(reportedCupsUri: string | null | undefined): boolean {
  return typeof reportedCupsUri === 'string' && /^http:\/\//i.test(reportedCupsUri);
}

/**
 * The warning of `issue-cert`, `issue-token` and `rotate` (CUPS) for a station
 * whose last report names a plain-HTTP CUPS URI: the credential waits until it
 * calls over https. A note, not a refusal: the operator may be about to serve TLS.
 */
export function plainHttpWarning(eui: string, kind: 'certificate' | 'token', reportedCupsUri: string): string {
  const what = kind === 'certificate' ? 'a client certificate can only be used over TLS' : 'a token is only accepted over TLS';
  return (
    `station ${eui} calls CUPS over plain HTTP (${reportedCupsUri}, as it last reported): ${what}, so the new CUPS credential ` +
    'is not sent to it until it calls over https; serve with --tls-cert and point its cups.uri at https://'
  );
}
