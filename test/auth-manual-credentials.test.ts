import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryBlobStore } from '../src/blobs/index.js';
import { setCredential } from '../src/operations/credentials.js';
import { createCa, issueStationCert, issueStationToken, tokenSecretHash, type IssuedCert } from '../src/pki/index.js';
import { buildCredentialBlob, credentialCrc } from '../src/protocol/index.js';
import { createRegistry } from '../src/registry/index.js';
import type { StationRegistry } from '../src/registry/types.js';

const EUI = '0016C001FF10A235';
let ca: IssuedCert;
let registry: StationRegistry;
let deps: Parameters<typeof setCredential>[0];

beforeAll(async () => {
  ca = await createCa();
  registry = await createRegistry(':memory:');
  await registry.migrate();
  await registry.createStation({ eui: EUI });
  deps = { registry, blobs: createMemoryBlobStore(), clock: () => new Date() };
});
afterAll(async () => registry.close());

describe('a CUPS credential set by hand (station credentials --cups)', () => {
  it('makes its certificate an accepted one, with a rotation to mutual TLS', async () => {
    const cert = await issueStationCert(ca, { eui: EUI });
    const set = await setCredential(deps, { eui: EUI, category: 'cups', trust: ca.certDer, cert: cert.certDer, key: cert.keySec1Der });
    const crc = credentialCrc(buildCredentialBlob({ trust: ca.certDer, cert: cert.certDer, key: cert.keySec1Der }));
    expect(set).toMatchObject({ accepted: `certificate ${cert.fingerprint256}`, crc, mode: 'mutual TLS' });
    const auth = await registry.getStationAuth(EUI);
    expect(auth?.certificates).toMatchObject([{ fingerprint: cert.fingerprint256, status: 'active', credCrc: crc }]);
    expect(auth?.rotations).toMatchObject([{ category: 'cups', newCrc: crc, targetMode: 'mtls' }]);
    expect((await registry.getStation(EUI))?.desired.cupsCred?.crc).toBe(crc);
  });

  it('stores only the hash of a bearer token and ignores tokens the server cannot check', async () => {
    const token = issueStationToken();
    const set = await setCredential(deps, { eui: EUI, category: 'cups', trust: ca.certDer, token: token.headerLine });
    expect(set.accepted).toMatch(/^token tok-/);
    expect((await registry.findToken(tokenSecretHash(token.secret)))?.eui).toBe(EUI);
    // Run again (as after a crash once the first run had committed): the token stays registered once.
    const again = await setCredential(deps, { eui: EUI, category: 'cups', trust: ca.certDer, token: token.headerLine });
    expect(again.accepted).toBe(set.accepted);
    expect((await registry.getStationAuth(EUI))?.tokens.filter((t) => t.status === 'active')).toHaveLength(1);
    const other = await setCredential(deps, { eui: EUI, category: 'cups', trust: ca.certDer, token: 'X-Api-Key: abc' });
    expect(other.accepted).toBeNull();
    const trustOnly = await setCredential(deps, { eui: EUI, category: 'cups', trust: ca.certDer });
    expect(trustOnly.accepted).toBeNull();
  });
});
