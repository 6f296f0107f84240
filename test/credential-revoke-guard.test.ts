import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { isCupsError } from '../src/core/errors.js';
import { revokeCredential } from '../src/operations/credential-revoke.js';
import type { CredentialDeps } from '../src/operations/credential-delivery.js';
import { issueCredentials, rotateCredential } from '../src/operations/credentials.js';
import { createCa, type IssuedCert } from '../src/pki/index.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';

let ca: IssuedCert;
let registry: StationRegistry;
let deps: CredentialDeps;
let n = 0;

beforeAll(async () => {
  ca = await createCa();
  registry = await createRegistry(':memory:');
  await registry.migrate();
  deps = { registry, blobs: createMemoryBlobStore(), clock: () => new Date() };
});
afterAll(async () => registry.close());

async function stationWithCertificate(): Promise<{ eui: string; first: string }> {
  const eui = `0016C001FF20${(n++).toString(16).toUpperCase().padStart(4, '0')}`;
  await registry.createStation({ eui });
  const issued = await issueCredentials(deps, { eui, kind: 'certificate', ca, credentials: [{ category: 'cups', trust: ca.certDer }] });
  return { eui, first: issued.credentials[0]?.fingerprint as string };
}

const code = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (isCupsError(e) ? e.code : e));

describe('revoke refuses what would lock a station out, reported or not', () => {
  it('refuses the certificate just issued to a never-seen station (its only one) unless --force', async () => {
    const { eui, first } = await stationWithCertificate();
    expect(await code(revokeCredential(deps, { eui, fingerprint: first }))).toBe('only_usable_credential');
    expect((await registry.getStationAuth(eui))?.certificates[0]?.status).toBe('active');
    expect(await revokeCredential(deps, { eui, fingerprint: first, force: true })).toMatchObject({ retired: true, desiredCleared: true });
    expect((await registry.getStation(eui))?.desired.cupsCred).toBeNull();
  });

  it('still refuses it after a rotation, whose new certificate the station can only fetch with it; the new one can go', async () => {
    const { eui, first } = await stationWithCertificate();
    const second = await rotateCredential(deps, { eui, category: 'cups', ca, caCert: ca.certDer });
    expect(await code(revokeCredential(deps, { eui, fingerprint: first }))).toBe('only_usable_credential');
    expect(await revokeCredential(deps, { eui, fingerprint: second.fingerprint as string })).toMatchObject({ retired: true, desiredCleared: true });
    const auth = await registry.getStationAuth(eui);
    expect(auth?.rotations).toEqual([]);
    expect(auth?.certificates.map((c) => c.status)).toEqual(['active', 'retired']);
  });

  it('refuses the credential the station reports holding', async () => {
    const { eui, first } = await stationWithCertificate();
    const crc = (await registry.getStation(eui))?.desired.cupsCred?.crc as number;
    await registry.recordExchange(eui, {
      at: new Date(),
      remoteAddress: null,
      reported: { cupsUri: null, tcUri: null, cupsCredCrc: crc, tcCredCrc: 0, station: '2.0.6', model: 'linux', package: null, keys: [] },
      events: [],
    });
    await rotateCredential(deps, { eui, category: 'cups', ca, caCert: ca.certDer });
    expect(await code(revokeCredential(deps, { eui, fingerprint: first }))).toBe('credential_in_use');
  });
});
