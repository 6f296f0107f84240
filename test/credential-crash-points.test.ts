import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import type { FaultHook } from '../src/core/fault-hook.js';
import { setStationAuthMode } from '../src/operations/auth-mode.js';
import { revokeCredential } from '../src/operations/credential-revoke.js';
import type { CredentialDeps } from '../src/operations/credential-delivery.js';
import { issueCredentials, rotateCredential, setCredential } from '../src/operations/credentials.js';
import { createCa, issueServerCert, type IssuedCert } from '../src/pki/index.js';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { startTestServer, type TestServer } from './support/server.js';

let work: string;
let ca: IssuedCert;
let srv: TestServer;
let next = 0x100;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-crash-'));
  ca = await createCa();
  const server = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
  await writeFile(join(work, 'ca.pem'), ca.certPem);
  await writeFile(join(work, 'server.pem'), server.certPem);
  await writeFile(join(work, 'server.key'), server.keyPem);
  srv = await startTestServer({
    allowUnauthenticated: false,
    tls: { cert: join(work, 'server.pem'), key: join(work, 'server.key'), clientCa: join(work, 'ca.pem') },
  });
});

afterAll(async () => {
  await srv?.stop();
  await rm(work, { recursive: true, force: true });
});

function deps(faults?: FaultHook): CredentialDeps {
  return { registry: srv.runtime.registry, blobs: srv.runtime.blobs, clock: () => new Date(), ...(faults === undefined ? {} : { faults }) };
}

/** A station that holds a CUPS token, talks to the server over TLS with it, and is in token mode. */
async function provisionedStation(): Promise<{ eui: string; exchange: () => Promise<{ status: number; error?: string | undefined }> }> {
  const eui = `0016C001FF1${(next++).toString(16).toUpperCase().padStart(5, '0')}`;
  await srv.runtime.registry.createStation({ eui });
  const issued = await issueCredentials(deps(), { eui, kind: 'token', credentials: [{ category: 'cups', trust: ca.certDer }] });
  const files = issued.credentials[0]?.files;
  const home = join(work, eui);
  await initStationHome(home, { cupsUri: srv.url, cupsTrust: files?.trust, cupsCrt: files?.crt, cupsKey: files?.key });
  const station = createSimulatedStation({ home, eui });
  const exchange = async () => {
    const r = await station.exchange();
    return { status: r.status, error: r.error };
  };
  expect(await exchange()).toMatchObject({ status: 200 });
  expect((await srv.runtime.registry.getStationAuth(eui))?.mode).toBe('token');
  return { eui, exchange };
}

type Operation = (d: CredentialDeps, eui: string) => Promise<unknown>;
const pendingTokens = new Map<string, string>();
const handTokens = new Map<string, string>();

const operations: Record<string, { prepare?: Operation; run: Operation; rerunRefusal?: string }> = {
  // The same command each time for a station, as an operator would run it again.
  'credentials --token': {
    run: (d, eui) => {
      if (!handTokens.has(eui)) handTokens.set(eui, `Authorization: Bearer ${randomBytes(24).toString('base64url')}`);
      return setCredential(d, { eui, category: 'cups', trust: ca.certDer, token: handTokens.get(eui) as string });
    },
  },
  'issue-cert': {
    run: (d, eui) => issueCredentials(d, { eui, kind: 'certificate', ca, credentials: [{ category: 'cups', trust: ca.certDer }] }),
  },
  'issue-token': {
    run: (d, eui) => issueCredentials(d, { eui, kind: 'token', credentials: [{ category: 'cups', trust: ca.certDer }] }),
  },
  rotate: {
    run: (d, eui) => rotateCredential(d, { eui, category: 'cups', ca, caCert: ca.certDer }),
  },
  // The pending token of a rotation not yet delivered: revoking it must also stop its delivery.
  'revoke (the token a rotation is delivering)': {
    prepare: async (d, eui) => {
      const rotated = await rotateCredential(d, { eui, category: 'cups', ca, caCert: ca.certDer });
      pendingTokens.set(eui, rotated.tokenId as string);
    },
    run: (d, eui) => revokeCredential(d, { eui, tokenId: pendingTokens.get(eui) as string }),
    // When the crash came before the commit, the station fetched the token and moved to it: now it is in use.
    rerunRefusal: 'credential_in_use',
  },
};

class InjectedCrash extends CupsError {
  constructor(step: string) {
    super('injected_crash', 'unavailable', `crash injected after ${step}`);
  }
}

describe.each(Object.entries(operations))('a crash at any step of %s', (_name, op) => {
  it('never leaves the station sent a credential the server refuses, and the operation can be run again', async () => {
    // First the steps the operation goes through, recorded on a station of its own.
    const steps: string[] = [];
    const recorder = await provisionedStation();
    await op.prepare?.(deps(), recorder.eui);
    await op.run(deps((step) => void steps.push(step)), recorder.eui);
    expect(steps).toEqual(expect.arrayContaining(['registry:credentials-added', 'registry:desired-set', 'registry:rotations-set', 'committed']));

    for (const crashAt of steps) {
      const { eui, exchange } = await provisionedStation();
      await op.prepare?.(deps(), eui);
      const crash: FaultHook = (step) => {
        if (step === crashAt) throw new InjectedCrash(step);
      };
      await expect(op.run(deps(crash), eui), crashAt).rejects.toThrow(InjectedCrash);
      // Whatever the server now sends (the old credential kept, or the new one), the station can use it:
      // the first exchange fetches, the next ones authenticate with what was fetched.
      for (let i = 0; i < 3; i++) expect(await exchange(), `crash after ${crashAt}, exchange ${i + 1}`).toMatchObject({ status: 200 });
      // And nothing is left half-done that stops the operator from trying again.
      await op.run(deps(), eui).catch((e: unknown) => {
        if (!(e instanceof CupsError && e.code === op.rerunRefusal)) throw e;
      });
      for (let i = 0; i < 2; i++) expect(await exchange(), `after re-running past ${crashAt}, exchange ${i + 1}`).toMatchObject({ status: 200 });
    }
  });
});

describe('station auth --mode', () => {
  it('sets the mode and drops a pending rotation\'s mode switch together, or neither after a crash', async () => {
    const { eui } = await provisionedStation();
    await issueCredentials(deps(), { eui, kind: 'certificate', ca, credentials: [{ category: 'cups', trust: ca.certDer }] });
    const before = await srv.runtime.registry.getStationAuth(eui);
    expect(before).toMatchObject({ mode: 'token', rotations: [{ targetMode: 'mtls' }] });
    const crash: FaultHook = (step) => {
      if (step === 'registry:mode-set') throw new InjectedCrash(step);
    };
    await expect(setStationAuthMode(deps(crash), eui, 'none')).rejects.toThrow(InjectedCrash);
    expect(await srv.runtime.registry.getStationAuth(eui)).toEqual(before);
    await setStationAuthMode(deps(), eui, 'none');
    expect(await srv.runtime.registry.getStationAuth(eui)).toMatchObject({ mode: 'none', rotations: [{ targetMode: null }] });
  });
});
