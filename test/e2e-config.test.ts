import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../src/protocol/index.js';
import { createSimulatedStation, initStationHome, readStationHome } from '../src/simulator/index.js';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

const EUI = '0016C001FF10A235';
let srv: TestServer;
let work: string;

beforeAll(async () => {
  srv = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'bscups-e2e-'));
  // A CA for the TC credential, made the way operators make one.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=lns-ca', '-keyout', join(work, 'ca.key'), '-out', join(work, 'ca.pem')], { stdio: 'ignore' });
});
afterAll(async () => srv.stop());

describe('URIs and credentials end to end (real CLI, real socket, simulator)', () => {
  it('delivers a new TC URI and a token credential once, then answers 14 zero bytes', async () => {
    const home = join(work, 'st1');
    await initStationHome(home, { cupsUri: srv.url, version: '1.0.0' });

    await bscupsJson(['station', 'add', EUI, '--name', 'roof-1', '--label', 'site=north', '--tc-uri', 'wss://127.0.0.1:6092'], srv.env);
    const cred = await bscupsJson<{ crc: number }>(['station', 'credentials', EUI, '--tc', '--trust', join(work, 'ca.pem'), '--token', 'Authorization: Bearer cupstok456'], srv.env);

    const before = await bscupsJson<{ inSync: boolean; pending: string[] }>(['station', 'show', EUI], srv.env);
    expect(before.inSync).toBe(false);

    const station = createSimulatedStation({ home, eui: EUI });
    const first = await station.exchange();
    expect(first.ok).toBe(true);
    expect(first.applied.sort()).toEqual(['tcCred', 'tcUri']);
    expect((await readFile(join(home, 'tc.uri'), 'utf8')).trim()).toBe('wss://127.0.0.1:6092');
    expect((await readFile(join(home, 'tc.key'), 'latin1'))).toBe('Authorization: Bearer cupstok456\r\n');
    const files = await readStationHome(home);
    expect(files.tcCredCrc).toBe(cred.crc);
    // the station's CRC over its files equals the CRC of the normalised blob
    // as the station counts them: an empty file (absent cert) contributes 00 00 00 00
    const file = async (n: string) => {
      const b = await readFile(join(home, n));
      return b.length === 0 ? Buffer.alloc(4) : b;
    };
    const blob = Buffer.concat([await file('tc.trust'), await file('tc.crt'), await file('tc.key')]);
    expect((await readFile(join(home, 'tc.crt'))).length).toBe(0);
    expect(crc32(blob)).toBe(cred.crc);

    const second = await station.exchange();
    expect(second.ok).toBe(true);
    expect(second.nothingToChange).toBe(true);
    expect(second.rawResponse?.body).toEqual(Buffer.alloc(14));

    const after = await bscupsJson<{ inSync: boolean; reported: { tcUri: string } ; events: { type: string }[] }>(['station', 'show', EUI], srv.env);
    expect(after.inSync).toBe(true);
    expect(after.reported.tcUri).toBe('wss://127.0.0.1:6092');
    expect(after.events.some((e) => e.type === 'exchange')).toBe(true);

    const table = await bscupsInProcess(['station', 'list'], srv.env);
    expect(table.stdout).toMatch(new RegExp(`${EUI}\\s+roof-1\\s+linux\\s+1\\.0\\.0.*in sync`));
  });

  it('moves a station to a new CUPS URI and it converges there', async () => {
    const second = await startTestServer({ database: srv.config.database, blobs: srv.config.blobs });
    try {
      const eui = '0016C001FF10A236';
      const home = join(work, 'st2');
      await initStationHome(home, { cupsUri: srv.url, version: '1.0.0' });
      await bscupsJson(['station', 'add', eui, '--cups-uri', second.url], srv.env);
      const station = createSimulatedStation({ home, eui });
      const first = await station.exchange();
      expect(first.applied).toEqual(['cupsUri']);
      expect((await readFile(join(home, 'cups.uri'), 'utf8')).trim()).toBe(second.url);
      const again = await station.exchange(); // now talks to the new URI
      expect(again.nothingToChange).toBe(true);
      const shown = await bscupsJson<{ inSync: boolean; reported: { cupsUri: string } }>(['station', 'show', eui], srv.env);
      expect(shown.inSync).toBe(true);
      expect(shown.reported.cupsUri).toBe(second.url);
    } finally {
      await second.stop();
    }
  });

  it('lists unknown stations that knocked, with a 404 for them', async () => {
    const home = join(work, 'st3');
    await initStationHome(home, { cupsUri: srv.url, version: '0.9' });
    const r = await createSimulatedStation({ home, eui: '1::3' }).exchange();
    expect(r.status).toBe(404);
    const unknown = await bscupsJson<{ eui: string; count: number }[]>(['station', 'unknown'], srv.env);
    expect(unknown).toContainEqual(expect.objectContaining({ eui: '0001000000000003', count: 1 }));
  });

  it('refuses bad input at the CLI with clear messages and exit codes', async () => {
    const badUri = await bscupsInProcess(['station', 'add', '0016C001FF10A299', '--cups-uri', 'https://cups.example.com/'], srv.env);
    expect(badUri.code).toBe(2);
    expect(badUri.stderr).toMatch(/cups-uri/i);
    const noPort = await bscupsInProcess(['station', 'set', EUI, '--tc-uri', 'wss://lns.example.com'], srv.env);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toMatch(/port/i);
    const dup = await runCli(['station', 'add', EUI], srv.env);
    expect(dup.code).toBe(4);
    const missing = await bscupsInProcess(['station', 'show', '0016C001FF10AAAA'], srv.env);
    expect(missing.code).toBe(3);
    // a PKCS#8 EC key in the blob would break the station: the CLI converts it
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=st', '-keyout', join(work, 'st.key'), '-out', join(work, 'st.pem')], { stdio: 'ignore' });
    expect((await readFile(join(work, 'st.key'), 'utf8'))).toContain('BEGIN PRIVATE KEY'); // PKCS#8
    // A self-signed certificate this server would refuse: only with --force (the check has its own test).
    const ok = await bscupsJson<{ crc: number; mode: string }>(['station', 'credentials', EUI, '--cups', '--force', '--trust', join(work, 'ca.pem'), '--cert', join(work, 'st.pem'), '--key', join(work, 'st.key')], srv.env);
    expect(ok.mode).toBe('mutual TLS');
    await writeFile(join(work, 'junk.pem'), 'not a certificate');
    const junk = await bscupsInProcess(['station', 'credentials', EUI, '--cups', '--trust', join(work, 'junk.pem')], srv.env);
    expect(junk.code).toBe(2);
  });

  it('removes a station and its credential blobs', async () => {
    const before = await srv.runtime.blobs.list('stationcredentials', `${EUI}-`);
    expect(before.length).toBeGreaterThan(0);
    await bscupsJson(['station', 'remove', EUI], srv.env);
    expect(await srv.runtime.blobs.list('stationcredentials', `${EUI}-`)).toEqual([]);
    expect(await srv.runtime.registry.getStation(EUI)).toBeUndefined();
  });
});
