import { describe, expect, it } from 'vitest';
import type { StationAuth, StationCertificate, StationToken } from './station-auth-model.js';
import { judgeAuthentication, NO_CREDENTIALS, refusalAnswer, rotationCompletions, type AuthInput, type AuthRefusal, type PresentedCertificate } from './authenticate.js';

const A = '0016C001FF10A235';
const B = '0016C001FF10A236';
const NOW = new Date('2025-06-01T00:00:00Z');
const FP_OLD = 'aa'.repeat(32);
const FP_NEW = 'bb'.repeat(32);

function cert(overrides: Partial<PresentedCertificate> = {}): PresentedCertificate {
  return {
    authorized: true,
    authorizationError: null,
    euis: [A],
    fingerprint: FP_NEW,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T00:00:00Z'),
    ...overrides,
  };
}

function registered(fingerprint: string, status: 'active' | 'retired', credCrc = 1): StationCertificate {
  return { fingerprint, category: 'cups', status, credCrc, notAfter: null, createdAt: NOW, retiredAt: null, retiredReason: status === 'retired' ? 'revoked' : null };
}

function token(overrides: Partial<StationToken> = {}): StationToken {
  return { id: 'tok', eui: A, category: 'cups', status: 'active', credCrc: 5, createdAt: NOW, retiredAt: null, retiredReason: null, ...overrides };
}

function station(overrides: Partial<StationAuth> = {}): StationAuth {
  return { eui: A, mode: 'mtls', certificates: [], tokens: [], rotations: [], ...overrides };
}

function input(overrides: Partial<AuthInput> = {}): AuthInput {
  return { router: A, station: station(), secure: true, certificate: null, token: null, allowUnauthenticated: false, now: NOW, ...overrides };
}

const tokenStation = station({ mode: 'token' });
const noneStation = station({ mode: 'none' });

describe('judgeAuthentication', () => {
  it.each<[string, Partial<AuthInput>, { ok: true; via: string } | { ok: false; kind: string; code: string }]>([
    ['mtls: a CA-verified certificate naming the router', { certificate: cert() }, { ok: true, via: 'mtls' }],
    ['mtls: certificate for another station', { certificate: cert({ euis: [B] }) }, { ok: false, kind: 'permission_denied', code: 'certificate_for_other_station' }],
    ['mtls: certificate naming two stations', { certificate: cert({ euis: [A, B] }) }, { ok: false, kind: 'permission_denied', code: 'certificate_names_several_stations' }],
    ['mtls: certificate naming no station', { certificate: cert({ euis: [] }) }, { ok: false, kind: 'permission_denied', code: 'certificate_names_no_station' }],
    ['mtls: untrusted chain', { certificate: cert({ authorized: false, authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_untrusted' }],
    ['mtls: expired per TLS', { certificate: cert({ authorized: false, authorizationError: 'CERT_HAS_EXPIRED' }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_expired' }],
    ['mtls: expired per the clock', { certificate: cert({ notAfter: new Date('2025-05-31T23:59:59Z') }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_expired' }],
    ['mtls: not yet valid per the clock', { certificate: cert({ notBefore: new Date('2025-06-01T00:00:01Z') }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_expired' }],
    ['mtls: no certificate', {}, { ok: false, kind: 'unauthenticated', code: 'client_certificate_required' }],
    ['mtls: plain http', { secure: false }, { ok: false, kind: 'unauthenticated', code: 'tls_required' }],
    ['mtls: on the allow-list', { certificate: cert(), station: station({ certificates: [registered(FP_OLD, 'active'), registered(FP_NEW, 'active')] }) }, { ok: true, via: 'mtls' }],
    ['mtls: not on the allow-list', { certificate: cert(), station: station({ certificates: [registered(FP_OLD, 'active')] }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_not_allowed' }],
    ['mtls: retired', { certificate: cert(), station: station({ certificates: [registered(FP_NEW, 'retired'), registered(FP_OLD, 'active')] }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_retired' }],
    ['mtls: every listed certificate revoked still refuses others', { certificate: cert(), station: station({ certificates: [registered(FP_OLD, 'retired')] }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_not_allowed' }],
    ['mtls: a tc certificate does not open CUPS', { certificate: cert(), station: station({ certificates: [registered(FP_OLD, 'active'), { ...registered(FP_NEW, 'active'), category: 'tc' }] }) }, { ok: false, kind: 'unauthenticated', code: 'certificate_not_allowed' }],
    ['mtls: a valid token does not fit the mode', { token: { match: token() } }, { ok: false, kind: 'permission_denied', code: 'wrong_auth_mode' }],
    ['token: its own active token', { station: tokenStation, token: { match: token() } }, { ok: true, via: 'token' }],
    ['token: unknown token', { station: tokenStation, token: { match: undefined } }, { ok: false, kind: 'unauthenticated', code: 'token_invalid' }],
    ['token: another station\'s token', { station: tokenStation, token: { match: token({ eui: B }) } }, { ok: false, kind: 'permission_denied', code: 'token_for_other_station' }],
    ['token: retired token', { station: tokenStation, token: { match: token({ status: 'retired' }) } }, { ok: false, kind: 'unauthenticated', code: 'token_retired' }],
    ['token: the station\'s tc token', { station: tokenStation, token: { match: token({ category: 'tc' }) } }, { ok: false, kind: 'permission_denied', code: 'token_wrong_category' }],
    ['token: over plain http', { station: tokenStation, secure: false, token: { match: token() } }, { ok: false, kind: 'unauthenticated', code: 'tls_required' }],
    ['token: no token', { station: tokenStation }, { ok: false, kind: 'unauthenticated', code: 'token_required' }],
    ['token: a valid certificate does not fit the mode', { station: tokenStation, certificate: cert() }, { ok: false, kind: 'permission_denied', code: 'wrong_auth_mode' }],
    ['token: an invalid certificate is refused as invalid', { station: tokenStation, certificate: cert({ euis: [B] }) }, { ok: false, kind: 'permission_denied', code: 'certificate_for_other_station' }],
    ['none: refused without --allow-unauthenticated', { station: noneStation }, { ok: false, kind: 'unauthenticated', code: 'credentials_required' }],
    ['none: accepted with --allow-unauthenticated', { station: noneStation, allowUnauthenticated: true }, { ok: true, via: 'none' }],
    ['none: --allow-unauthenticated does not open an mtls station', { allowUnauthenticated: true }, { ok: false, kind: 'unauthenticated', code: 'client_certificate_required' }],
    ['none: pending switch to mtls accepts the new certificate on a strict server', { station: station({ mode: 'none', rotations: [{ category: 'cups', newCrc: 1, targetMode: 'mtls', startedAt: NOW }], certificates: [registered(FP_NEW, 'active')] }), certificate: cert() }, { ok: true, via: 'mtls' }],
    ['token: pending switch to mtls still accepts the token', { station: station({ mode: 'token', rotations: [{ category: 'cups', newCrc: 1, targetMode: 'mtls', startedAt: NOW }] }), token: { match: token() } }, { ok: true, via: 'token' }],
    ['unregistered: a valid certificate naming it', { station: undefined, certificate: cert() }, { ok: true, via: 'mtls' }],
    ['unregistered: a certificate naming another', { station: undefined, certificate: cert({ euis: [B] }) }, { ok: false, kind: 'permission_denied', code: 'certificate_for_other_station' }],
    ['unregistered: a registered station\'s token', { station: undefined, token: { match: token({ eui: B }) } }, { ok: false, kind: 'permission_denied', code: 'token_for_other_station' }],
    ['unregistered: nothing, strict', { station: undefined }, { ok: false, kind: 'unauthenticated', code: 'credentials_required' }],
    ['unregistered: nothing, allowed', { station: undefined, allowUnauthenticated: true }, { ok: true, via: 'none' }],
  ])('%s', (_name, overrides, expected) => {
    expect(judgeAuthentication(input(overrides))).toMatchObject(expected);
  });

  it('names the credential used and the CRC it was delivered in, never a secret', () => {
    const viaCert = judgeAuthentication(input({ certificate: cert(), station: station({ certificates: [registered(FP_NEW, 'active', 77)] }) }));
    expect(viaCert).toEqual({ ok: true, via: 'mtls', credential: { kind: 'certificate', fingerprint: FP_NEW, credCrc: 77 } });
    const viaToken = judgeAuthentication(input({ station: tokenStation, token: { match: token({ credCrc: 9 }) } }));
    expect(viaToken).toEqual({ ok: true, via: 'token', credential: { kind: 'token', id: 'tok', credCrc: 9 } });
    const refused = judgeAuthentication(input({ station: tokenStation, token: { match: token({ eui: B }) } }));
    expect(refused).toMatchObject({ ok: false, detail: { tokenId: 'tok' } });
  });
});

describe('refusalAnswer', () => {
  // Every way a request can arrive with nothing: the answer must not tell which EUIs exist or how they authenticate.
  it.each<[string, Partial<AuthInput>]>([
    ['unregistered EUI over https', { station: undefined }],
    ['unregistered EUI over plain http', { station: undefined, secure: false }],
    ['mtls station over https', {}],
    ['mtls station over plain http', { secure: false }],
    ['token station over https', { station: tokenStation }],
    ['token station over plain http', { station: tokenStation, secure: false }],
    ['none station on a strict server', { station: noneStation }],
    ['mtls station on an --allow-unauthenticated server', { allowUnauthenticated: true }],
  ])('gives one answer without credentials: %s', (_name, overrides) => {
    const given = input(overrides);
    const verdict = judgeAuthentication(given) as AuthRefusal;
    expect(verdict.ok).toBe(false);
    expect(refusalAnswer(verdict, given)).toEqual({ kind: 'unauthenticated', code: 'credentials_required', reason: NO_CREDENTIALS.reason });
    expect(NO_CREDENTIALS.reason).not.toContain(A);
  });

  it('keeps the real reason when a credential was presented', () => {
    const given = input({ station: tokenStation, secure: false, token: { match: token() } });
    expect(refusalAnswer(judgeAuthentication(given) as AuthRefusal, given)).toMatchObject({ code: 'tls_required' });
    const other = input({ certificate: cert({ euis: [B] }) });
    expect(refusalAnswer(judgeAuthentication(other) as AuthRefusal, other)).toMatchObject({ kind: 'permission_denied', code: 'certificate_for_other_station' });
  });
});

describe('rotationCompletions', () => {
  const rotating = station({
    rotations: [
      { category: 'cups', newCrc: 20, targetMode: null, startedAt: NOW },
      { category: 'tc', newCrc: 30, targetMode: null, startedAt: NOW },
    ],
  });
  const newCert = { kind: 'certificate', fingerprint: FP_NEW, credCrc: 20 } as const;
  const oldCert = { kind: 'certificate', fingerprint: FP_OLD, credCrc: 10 } as const;

  it('completes CUPS only when the new CRC is reported and the new credential was used', () => {
    expect(rotationCompletions(rotating, newCert, { cupsCredCrc: 20, tcCredCrc: 0 })).toEqual([{ category: 'cups', newCrc: 20 }]);
    expect(rotationCompletions(rotating, oldCert, { cupsCredCrc: 20, tcCredCrc: 0 })).toEqual([]);
    expect(rotationCompletions(rotating, newCert, { cupsCredCrc: 10, tcCredCrc: 0 })).toEqual([]);
    expect(rotationCompletions(rotating, { kind: 'none' }, { cupsCredCrc: 20, tcCredCrc: 0 })).toEqual([]);
  });

  it('completes TC on the report alone', () => {
    expect(rotationCompletions(rotating, oldCert, { cupsCredCrc: 10, tcCredCrc: 30 })).toEqual([{ category: 'tc', newCrc: 30 }]);
  });
});
