import { describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { CupsError, isCupsError } from '../src/core/errors.js';
import { revokeCredential } from '../src/operations/credential-revoke.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';
import { runCli } from './support/cli.js';
import { registryDrivers, registryPerTest, type Driver } from './support/registry-drivers.js';

const drivers = await registryDrivers('registry credential change');
const EUI = '0016C001FF10A235';
const FP_A = 'a1'.repeat(32);
const FP_B = 'b2'.repeat(32);

function suite(driver: Driver): void {
  const fx = registryPerTest(driver, {}, [EUI]);

  it('writes a whole credential change, or nothing when a step fails or the plan refuses', async () => {
    const at = new Date();
    const before = { station: await fx.registry.getStation(EUI), auth: await fx.registry.getStationAuth(EUI) };
    const change = {
      addCertificates: [{ fingerprint: FP_A, category: 'cups' as const, credCrc: 7, notAfter: null }],
      desired: { cupsCred: { blob: `${EUI}-cups-00000007`, crc: 7, size: 500 } },
      startRotations: [{ category: 'cups' as const, newCrc: 7, targetMode: 'mtls' as const }],
      events: [{ type: 'config' as const, message: 'issued' }],
    };
    const crash = (step: string) => {
      if (step === 'registry:rotations-set') throw new CupsError('injected_crash', 'unavailable', step);
    };
    await expect(fx.registry.changeCredentials(EUI, () => ({ change, result: null }), at, crash)).rejects.toMatchObject({ code: 'injected_crash' });
    await expect(
      fx.registry.changeCredentials(EUI, () => {
        throw new CupsError('refused', 'conflict', 'no');
      }, at),
    ).rejects.toMatchObject({ code: 'refused' });
    expect({ station: await fx.registry.getStation(EUI), auth: await fx.registry.getStationAuth(EUI) }).toEqual(before);
    expect(await fx.registry.listEvents(EUI)).toEqual([]);

    await fx.registry.changeCredentials(EUI, () => ({ change, result: null }), at);
    expect((await fx.registry.getStation(EUI))?.desired.cupsCred?.crc).toBe(7);
    expect(await fx.registry.getStationAuth(EUI)).toMatchObject({ certificates: [{ fingerprint: FP_A, status: 'active' }], rotations: [{ newCrc: 7, targetMode: 'mtls' }] });
    expect((await fx.registry.listEvents(EUI)).map((e) => e.message)).toEqual(['issued']);
  });

  it.skipIf(!driver.shared || driver.name === 'SQLite file, cached')('lets two operators revoking a station\'s last two certificates at once leave it one', async () => {
    await fx.registry.addCertificate(EUI, { fingerprint: FP_A, category: 'cups', credCrc: 1, notAfter: null }, new Date());
    await fx.registry.addCertificate(EUI, { fingerprint: FP_B, category: 'cups', credCrc: 2, notAfter: null }, new Date());
    await fx.registry.setAuthMode(EUI, 'mtls', new Date());
    let outcomes: string[];
    if (driver.name.startsWith('SQLite')) {
      // SQLite connections wait for a lock synchronously, so the two operators are two CLI processes, as in real life.
      const env = { BSCUPS_DATABASE: fx.store.url, BSCUPS_BLOBS: 'memory:' };
      const runs = await Promise.all([FP_A, FP_B].map((fp) => runCli(['--json', 'station', 'revoke', EUI, '--fingerprint', fp], env)));
      outcomes = runs.map((r) => (r.code === 0 ? 'revoked' : ((JSON.parse(r.stderr) as { error: { code: string } }).error.code)));
    } else {
      // A second registry has its own pool, so the two transactions really overlap.
      const other = await createRegistry(fx.store.url, driver.options);
      try {
        const deps = (r: StationRegistry) => ({ registry: r, blobs: createMemoryBlobStore(), clock: () => new Date() });
        const code = (e: unknown) => (isCupsError(e) ? e.code : String(e));
        outcomes = await Promise.all([
          revokeCredential(deps(fx.registry), { eui: EUI, fingerprint: FP_A }).then(() => 'revoked', code),
          revokeCredential(deps(other), { eui: EUI, fingerprint: FP_B }).then(() => 'revoked', code),
        ]);
      } finally {
        await other.close();
      }
    }
    expect(outcomes.sort()).toEqual(['only_usable_credential', 'revoked']);
    expect((await fx.registry.getStationAuth(EUI))?.certificates.filter((c) => c.status === 'active')).toHaveLength(1);
  });
}

for (const driver of drivers) describe.skipIf(driver.skip)(`credential changes in one transaction: ${driver.name}`, () => suite(driver));
