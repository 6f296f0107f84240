import { describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { registryDrivers, registryPerTest, type Driver } from './support/registry-drivers.js';

const drivers = await registryDrivers('registry auth conformance');

const EUI_A = '0016C001FF10A235';
const EUI_B = '0016C001FF10A236';
const T0 = Date.parse('2025-03-01T10:00:00.123Z');
const FP1 = 'a1'.repeat(32);
const FP2 = 'b2'.repeat(32);
const FP3 = 'c3'.repeat(32);
const HASH1 = '11'.repeat(32);
const HASH2 = '22'.repeat(32);

async function expectCupsError(promise: Promise<unknown>, kind: string, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CupsError);
  expect(error).toMatchObject({ kind, code });
}

function authConformance(driver: Driver): void {
  const fx = registryPerTest(driver, { now: () => new Date(T0) }, [EUI_A, EUI_B]);
  const at = (ms: number) => new Date(T0 + ms);

  it('gives a new station mode none and nothing issued; an unregistered EUI has no auth record', async () => {
    expect(await fx.registry.getStationAuth(EUI_A)).toEqual({ eui: EUI_A, mode: 'none', certificates: [], tokens: [], rotations: [] });
    expect(await fx.registry.getStationAuth('0000000000000001')).toBeUndefined();
  });

  it('sets the auth mode, refusing unknown stations and unknown modes', async () => {
    await fx.registry.setAuthMode(EUI_A, 'mtls', at(1));
    expect((await fx.registry.getStationAuth(EUI_A))?.mode).toBe('mtls');
    await fx.registry.setAuthMode(EUI_A, 'token', at(2));
    expect((await fx.registry.getStationAuth(EUI_A))?.mode).toBe('token');
    expect((await fx.registry.getStationAuth(EUI_B))?.mode).toBe('none');
    await expectCupsError(fx.registry.setAuthMode('0000000000000001', 'mtls', at(3)), 'not_found', 'station_not_found');
    await expectCupsError(fx.registry.setAuthMode(EUI_A, 'open' as never, at(3)), 'invalid_argument', 'invalid_auth_mode');
  });

  it('registers certificates once per station and retires them with reason and time', async () => {
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP1, category: 'cups', credCrc: 0xffffffff, notAfter: at(99_000) }, at(1));
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP2, category: 'tc', credCrc: 7, notAfter: null }, at(2));
    // The same certificate may be known to another station's list without clashing.
    await fx.registry.addCertificate(EUI_B, { fingerprint: FP1, category: 'cups', credCrc: 1, notAfter: null }, at(3));
    await expectCupsError(
      fx.registry.addCertificate(EUI_A, { fingerprint: FP1, category: 'cups', credCrc: 1, notAfter: null }, at(4)),
      'conflict',
      'certificate_exists',
    );
    await expectCupsError(
      fx.registry.addCertificate(EUI_A, { fingerprint: 'AB:CD', category: 'cups', credCrc: 1, notAfter: null }, at(4)),
      'invalid_argument',
      'invalid_fingerprint',
    );
    await expectCupsError(
      fx.registry.addCertificate(EUI_A, { fingerprint: FP3, category: 'cups', credCrc: 2 ** 32, notAfter: null }, at(4)),
      'invalid_argument',
      'invalid_crc',
    );
    const auth = await fx.registry.getStationAuth(EUI_A);
    expect(auth?.certificates).toEqual([
      { fingerprint: FP1, category: 'cups', status: 'active', credCrc: 0xffffffff, notAfter: at(99_000), createdAt: at(1), retiredAt: null, retiredReason: null },
      { fingerprint: FP2, category: 'tc', status: 'active', credCrc: 7, notAfter: null, createdAt: at(2), retiredAt: null, retiredReason: null },
    ]);

    expect(await fx.registry.retireCertificate(EUI_A, FP1, 'revoked', at(5))).toBe(true);
    expect(await fx.registry.retireCertificate(EUI_A, FP1, 'revoked again', at(6))).toBe(false);
    await expectCupsError(fx.registry.retireCertificate(EUI_A, FP3, 'revoked', at(6)), 'not_found', 'certificate_not_found');
    const after = await fx.registry.getStationAuth(EUI_A);
    expect(after?.certificates[0]).toMatchObject({ status: 'retired', retiredAt: at(5), retiredReason: 'revoked' });
    // Station B's entry for the same fingerprint is untouched.
    expect((await fx.registry.getStationAuth(EUI_B))?.certificates[0]?.status).toBe('active');
  });

  it('stores token hashes, finds a token by hash whatever station asks, and never returns the hash', async () => {
    await fx.registry.addToken(EUI_A, { id: 'tok-a', hash: HASH1, category: 'cups', credCrc: 123 }, at(1));
    await expectCupsError(fx.registry.addToken(EUI_B, { id: 'tok-b', hash: HASH1, category: 'cups', credCrc: 1 }, at(2)), 'conflict', 'token_exists');
    await expectCupsError(fx.registry.addToken(EUI_B, { id: 'tok-a', hash: HASH2, category: 'cups', credCrc: 1 }, at(2)), 'conflict', 'token_exists');
    await expectCupsError(fx.registry.addToken(EUI_B, { id: 'bad id!', hash: HASH2, category: 'cups', credCrc: 1 }, at(2)), 'invalid_argument', 'invalid_token_id');
    await expectCupsError(fx.registry.addToken(EUI_B, { id: 'tok-b', hash: 'secret', category: 'cups', credCrc: 1 }, at(2)), 'invalid_argument', 'invalid_token_hash');

    const found = await fx.registry.findToken(HASH1);
    expect(found).toEqual({
      id: 'tok-a',
      eui: EUI_A,
      category: 'cups',
      status: 'active',
      credCrc: 123,
      createdAt: at(1),
      retiredAt: null,
      retiredReason: null,
    });
    expect(JSON.stringify(await fx.registry.getStationAuth(EUI_A))).not.toContain(HASH1);
    expect(await fx.registry.findToken(HASH2)).toBeUndefined();
    expect(await fx.registry.findToken('not a hash')).toBeUndefined();

    expect(await fx.registry.retireToken(EUI_A, 'tok-a', 'revoked', at(3))).toBe(true);
    expect(await fx.registry.findToken(HASH1)).toMatchObject({ status: 'retired', retiredReason: 'revoked' });
    // A token is named through its own station only.
    await expectCupsError(fx.registry.retireToken(EUI_B, 'tok-a', 'revoked', at(4)), 'not_found', 'token_not_found');
  });

  it('completes a rotation once: retires the other active credentials of the category, sets the mode, records it', async () => {
    await fx.registry.setAuthMode(EUI_A, 'token', at(0));
    await fx.registry.addToken(EUI_A, { id: 'old-token', hash: HASH1, category: 'cups', credCrc: 10 }, at(1));
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP1, category: 'cups', credCrc: 11, notAfter: null }, at(2));
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP2, category: 'cups', credCrc: 20, notAfter: null }, at(3));
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP3, category: 'tc', credCrc: 30, notAfter: null }, at(4));
    await fx.registry.startRotation(EUI_A, { category: 'cups', newCrc: 11, targetMode: 'mtls' }, at(5));
    // Replacing the pending rotation of the same category keeps only the newest.
    await fx.registry.startRotation(EUI_A, { category: 'cups', newCrc: 20, targetMode: 'mtls' }, at(6));
    await fx.registry.startRotation(EUI_A, { category: 'tc', newCrc: 30, targetMode: null }, at(6));
    expect((await fx.registry.getStationAuth(EUI_A))?.rotations).toEqual([
      { category: 'cups', newCrc: 20, targetMode: 'mtls', startedAt: at(6) },
      { category: 'tc', newCrc: 30, targetMode: null, startedAt: at(6) },
    ]);

    expect(await fx.registry.completeRotation(EUI_A, { category: 'cups', newCrc: 11 }, at(7))).toBeUndefined();
    const done = await fx.registry.completeRotation(EUI_A, { category: 'cups', newCrc: 20 }, at(8));
    expect(done).toEqual({ category: 'cups', newCrc: 20, retiredCertificates: [FP1], retiredTokens: ['old-token'], mode: 'mtls' });
    expect(await fx.registry.completeRotation(EUI_A, { category: 'cups', newCrc: 20 }, at(9))).toBeUndefined();

    const auth = await fx.registry.getStationAuth(EUI_A);
    expect(auth?.mode).toBe('mtls');
    expect(auth?.rotations.map((r) => r.category)).toEqual(['tc']);
    expect(auth?.certificates.map((c) => [c.fingerprint, c.status, c.retiredReason])).toEqual([
      [FP1, 'retired', 'rotated'],
      [FP2, 'active', null],
      [FP3, 'active', null],
    ]);
    expect(auth?.tokens.map((t) => [t.id, t.status])).toEqual([['old-token', 'retired']]);
    const events = await fx.registry.listEvents(EUI_A);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'auth', at: at(8), detail: { category: 'cups', retiredTokens: ['old-token'] } });

    expect(await fx.registry.cancelRotation(EUI_A, 'tc')).toBe(true);
    expect(await fx.registry.cancelRotation(EUI_A, 'tc')).toBe(false);
    await expectCupsError(fx.registry.startRotation('0000000000000001', { category: 'cups', newCrc: 1, targetMode: null }, at(10)), 'not_found', 'station_not_found');
  });

  it('lets exactly one of several concurrent exchanges complete a rotation', async () => {
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP1, category: 'cups', credCrc: 1, notAfter: null }, at(1));
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP2, category: 'cups', credCrc: 2, notAfter: null }, at(2));
    await fx.registry.startRotation(EUI_A, { category: 'cups', newCrc: 2, targetMode: null }, at(3));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => fx.registry.completeRotation(EUI_A, { category: 'cups', newCrc: 2 }, at(10 + i))));
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    expect(await fx.registry.listEvents(EUI_A)).toHaveLength(1);
  });

  it('forgets a station\'s auth data when the station is removed', async () => {
    await fx.registry.setAuthMode(EUI_A, 'mtls', at(1));
    await fx.registry.addCertificate(EUI_A, { fingerprint: FP1, category: 'cups', credCrc: 1, notAfter: null }, at(1));
    await fx.registry.addToken(EUI_A, { id: 'tok', hash: HASH1, category: 'cups', credCrc: 1 }, at(1));
    await fx.registry.startRotation(EUI_A, { category: 'cups', newCrc: 1, targetMode: null }, at(1));
    expect(await fx.registry.removeStation(EUI_A)).toBe(true);
    expect(await fx.registry.findToken(HASH1)).toBeUndefined();
    await fx.registry.createStation({ eui: EUI_A });
    expect(await fx.registry.getStationAuth(EUI_A)).toEqual({ eui: EUI_A, mode: 'none', certificates: [], tokens: [], rotations: [] });
  });
}

for (const driver of drivers) {
  describe.skipIf(driver.skip)(`station auth store on ${driver.name}`, () => authConformance(driver));
}
