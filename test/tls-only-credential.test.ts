import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponse, encodeStationHttpRequest, encodeStationRequestBody } from '../src/protocol/index.js';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson as cliJson } from './support/cli-in-process.js';
import { rawExchange } from './support/raw-http.js';
import { startTestServer, type TestServer } from './support/server.js';
import { stationRequest } from './support/tls-client.js';

// Issue 17.9: a CUPS credential that only completes over TLS (a client
// certificate and its private key) is not sent over a plain-HTTP exchange,
// and `station show` says why; over TLS the same station gets it and the
// rotation completes.

const EUI = '0016C001FF10B017';
let work: string;
let pki: string;
let data: { database: string; blobs: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-tls-only-'));
  pki = join(work, 'pki');
  data = { database: join(work, 'registry.sqlite'), blobs: join(work, 'blobs') };
  await cliJson(['pki', 'init', '--dir', pki, '--server-name', '127.0.0.1']);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Shown {
  problem: string | null;
  pending: string[];
  status: string;
}

describe('a certificate issued to a station that calls CUPS over plain HTTP', () => {
  let plain: TestServer;
  const env = () => ({ BSCUPS_DATABASE: data.database, BSCUPS_BLOBS: data.blobs });

  beforeAll(async () => {
    plain = await startTestServer({ ...data, allowUnauthenticated: true });
    await cliJson(['station', 'add', EUI], env());
  });
  afterAll(async () => plain.stop());

  const send = () => {
    const body = encodeStationRequestBody(stationRequest(EUI, { cupsUri: plain.url }));
    return rawExchange(plain.port, encodeStationHttpRequest({ host: `127.0.0.1:${plain.port}`, body }));
  };

  it('issue-cert warns (not an error) that the station last called over plain HTTP', async () => {
    expect((await send()).status).toBe(200);
    // The real CLI in a child process once; the other commands run its entry point in this process (seconds saved each).
    const issued = await runCli(['station', 'issue-cert', EUI, '--pki-dir', pki, '--out', join(work, 'issued')], env());
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout + issued.stderr).toMatch(/note: station \w+ calls CUPS over plain HTTP \(http:\/\/127\.0\.0\.1:\d+, as it last reported\)/);
    const json = await cliJson<{ pendingMode: string; warnings: string[] }>(['station', 'rotate', EUI, '--pki-dir', pki], env());
    expect(json.warnings).toEqual([expect.stringMatching(/calls CUPS over plain HTTP .*client certificate.*TLS/)]);
  });

  it('the plain-HTTP exchange carries no private key, and station show says why', async () => {
    const answer = await send();
    expect(answer.status).toBe(200);
    const decoded = decodeResponse(answer.body);
    expect(decoded.cupsCred).toBeNull();
    expect(decoded.tcCred).toBeNull();
    // Nothing in the bytes on the wire looks like the start of the station's SEC1 key.
    expect(answer.body.includes(Buffer.from([0x30, 0x77, 0x02, 0x01, 0x01]))).toBe(false);

    const shown = await cliJson<Shown>(['station', 'show', EUI], env());
    expect(shown.pending).toContain('cupsCred');
    expect(shown.problem).toMatch(/^cupsCred not sent: a client certificate can only be used over TLS, and this station calls CUPS over plain HTTP \(http:\/\/127\.0\.0\.1:\d+\); serve with --tls-cert/);
    const human = await bscupsInProcess(['station', 'show', EUI], env());
    expect(human.stdout).toMatch(/PROBLEM: cupsCred not sent: a client certificate can only be used over TLS/);
    // The problem is recorded once, not per poll.
    await send();
    const events = await plain.runtime.registry.listEvents(EUI, { limit: 50 });
    expect(events.filter((e) => e.type === 'problem' && e.message.startsWith('cupsCred not sent'))).toHaveLength(1);
  });
});

describe('the same station, once it calls over TLS', () => {
  let secure: TestServer;

  beforeAll(async () => {
    secure = await startTestServer({
      ...data,
      allowUnauthenticated: true,
      tls: { cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), clientCa: join(pki, 'ca.pem') },
    });
  });
  afterAll(async () => secure.stop());

  it('receives the certificate and key, and the rotation completes', async () => {
    const home = join(work, 'station');
    await initStationHome(home, { cupsUri: secure.url, cupsTrust: await readFile(join(work, 'issued', 'cups.trust')) });
    const station = createSimulatedStation({ home, eui: EUI });
    const delivered = await station.exchange();
    expect(delivered).toMatchObject({ status: 200, ok: true });
    expect(delivered.applied).toContain('cupsCred');
    expect((await stat(join(home, 'cups.key'))).size).toBeGreaterThan(0);
    const proven = await station.exchange();
    expect(proven).toMatchObject({ status: 200, ok: true, nothingToChange: true });
    const auth = await secure.runtime.registry.getStationAuth(EUI);
    expect(auth?.rotations).toEqual([]);
    expect(auth?.mode).toBe('mtls');
    const shown = await cliJson<Shown>(['station', 'show', EUI], { BSCUPS_DATABASE: data.database, BSCUPS_BLOBS: data.blobs });
    expect(shown.problem).toBeNull();
    expect(shown.pending).toEqual([]);
  });
});
