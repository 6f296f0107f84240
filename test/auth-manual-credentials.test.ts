import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackCupsCredential } from '../src/cli/commands/station/provision.js';
import { createCa, issueStationCert, issueStationToken, tokenSecretHash, type IssuedCert } from '../src/pki/index.js';
import { buildCredentialBlob, credentialCrc } from '../src/protocol/index.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';

const EUI = '0016C001FF10A235';
let ca: IssuedCert;
let registry: StationRegistry;

beforeAll(async () => {
  ca = await createCa();
  registry = await createRegistry(':memory:');
  await registry.migrate();
  await registry.createStation({ eui: EUI });
});
afterAll(async () => registry.close());

describe('a CUPS credential set by hand (station credentials --cups)', () => {
  it('makes its certificate an accepted one, with a rotation to mutual TLS', async () => {
    const cert = await issueStationCert(ca, { eui: EUI });
    const blob = buildCredentialBlob({ trust: ca.certDer, cert: cert.certDer, key: cert.keySec1Der });
    const crc = credentialCrc(blob);
    expect(await trackCupsCredential(registry, EUI, blob, crc, new Date())).toBe(`certificate ${cert.fingerprint256}`);
    const auth = await registry.getStationAuth(EUI);
    expect(auth?.certificates).toMatchObject([{ fingerprint: cert.fingerprint256, status: 'active', credCrc: crc }]);
    expect(auth?.rotations).toMatchObject([{ category: 'cups', newCrc: crc, targetMode: 'mtls' }]);
  });

  it('stores only the hash of a bearer token and ignores tokens the server cannot check', async () => {
    const token = issueStationToken();
    const blob = buildCredentialBlob({ trust: ca.certDer, token: token.headerLine });
    expect(await trackCupsCredential(registry, EUI, blob, credentialCrc(blob), new Date())).toMatch(/^token tok-/);
    expect((await registry.findToken(tokenSecretHash(token.secret)))?.eui).toBe(EUI);
    const other = buildCredentialBlob({ trust: ca.certDer, token: 'X-Api-Key: abc' });
    expect(await trackCupsCredential(registry, EUI, other, credentialCrc(other), new Date())).toBeNull();
    const trustOnly = buildCredentialBlob({ trust: ca.certDer });
    expect(await trackCupsCredential(registry, EUI, trustOnly, credentialCrc(trustOnly), new Date())).toBeNull();
  });
});
