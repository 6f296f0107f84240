import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulatedStation, initStationHome } from '../src/simulator/index.js';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';
import { startTestServer, type TestServer } from './support/server.js';

let srv: TestServer;
let work: string;
let keyA: { dir: string; crc: number };
let keyB: { dir: string; crc: number };

const SCRIPT = (version: string) => `#!/bin/sh\nprintf '%s\\n' ${version} > "$STATION_HOME/version.txt"\nexit 0\n`;

async function generate(name: string): Promise<{ dir: string; crc: number }> {
  const dir = join(work, name);
  const r = await bscupsJson<{ crc: number }>(['keys', 'generate', '--out', dir]);
  return { dir, crc: r.crc };
}

async function stationHome(name: string, eui: string, sigKeys: string[], version = '1.0.0') {
  const home = join(work, name);
  await initStationHome(home, { cupsUri: srv.url, version, sigKeys: await Promise.all(sigKeys.map((k) => readFile(k))) });
  await bscupsJson(['station', 'add', eui], srv.env);
  return createSimulatedStation({ home, eui });
}

beforeAll(async () => {
  srv = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'bscups-fw-'));
  keyA = await generate('keyA');
  keyB = await generate('keyB');
  await writeFile(join(work, 'update-1.0.1.sh'), SCRIPT('1.0.1'));
});
afterAll(async () => srv.stop());

describe('firmware upgrade end to end', () => {
  it('generate key → upgrade → station verifies and runs it → reports 1.0.1 → upgraded', async () => {
    const eui = '00000000000000A1';
    const st = await stationHome('a1', eui, [join(keyA.dir, 'sig-0.key')]);
    const up = await bscupsJson<{ uploaded: boolean; stations: string[] }>(
      ['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', join(work, 'update-1.0.1.sh'), '--sign-with', join(keyA.dir, 'sig-0.pem')],
      srv.env,
    );
    expect(up.stations).toEqual([eui]);

    const first = await st.exchange();
    expect(first.ok).toBe(true);
    expect(first.update).toMatchObject({ outcome: 'verified', keyIndex: 0, ran: true, exitCode: 0 });
    expect((await readFile(join(work, 'a1', 'version.txt'), 'utf8')).trim()).toBe('1.0.1');

    const second = await st.exchange();
    expect(second.request.package).toBe('1.0.1');
    expect(second.nothingToChange).toBe(true);

    const status = await bscupsJson<{ eui: string; firmware: { state: string; offers: number; upgradedAt: string } }[]>(['firmware', 'status', '--station', eui], srv.env);
    expect(status[0]?.firmware).toMatchObject({ state: 'upgraded', offers: 1 });
    expect(status[0]?.firmware.upgradedAt).toBeTruthy();
  });

  it('answers the firmware exchange with exactly the bytes of the protocol', async () => {
    const eui = '00000000000000A2';
    const st = await stationHome('a2', eui, [join(keyA.dir, 'sig-0.key')]);
    const file = join(work, 'update-1.0.1.sh');
    const sigFile = join(work, 'a2.sig');
    await bscupsJson(['firmware', 'sign', '--key', join(keyA.dir, 'sig-0.pem'), '--out', sigFile, file]);
    await bscupsJson(['keys', 'add', join(keyA.dir, 'sig-0.key'), '--name', 'A'], srv.env);
    await bscupsJson(['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', file, '--signature', sigFile, '--key-crc', String(keyA.crc)], srv.env);

    const sig = await readFile(sigFile);
    const update = await readFile(file);
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const expected = Buffer.concat([
      Buffer.from([0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), // no URIs, no credentials
      u32(4 + sig.length), // sigLen counts the key CRC
      u32(keyA.crc),
      sig,
      u32(update.length),
      update,
    ]);
    const r = await st.exchange();
    expect(r.rawResponse?.headers['content-length']).toBe(String(expected.length));
    expect(r.rawResponse?.chunked).toBe(false);
    expect(r.rawResponse?.body.equals(expected)).toBe(true);
  });

  it('a station without the signing key gets 200, no update, and a visible problem', async () => {
    const eui = '00000000000000A3';
    const st = await stationHome('a3', eui, [join(keyB.dir, 'sig-0.key')]);
    await bscupsJson(['station', 'set', eui, '--tc-uri', 'ws://127.0.0.1:6092'], srv.env);
    await bscupsJson(['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', join(work, 'update-1.0.1.sh'), '--sign-with', join(keyA.dir, 'sig-0.pem')], srv.env);
    const r = await st.exchange();
    expect(r.status).toBe(200);
    expect(r.update).toBeUndefined();
    expect(r.applied).toEqual(['tcUri']);
    const shown = await bscupsJson<{ problem: string }>(['station', 'show', eui], srv.env);
    expect(shown.problem).toBe(`firmware 1.0.1: signing key CRC ${keyA.crc} not on station; it has [${keyB.crc}]`);
    const list = await bscupsInProcess(['station', 'list'], srv.env);
    expect(list.stdout).toContain('PROBLEM: firmware 1.0.1: signing key CRC');
  });

  it('with two signatures, a station holding only the second key gets that one', async () => {
    const eui = '00000000000000A4';
    const st = await stationHome('a4', eui, [join(keyB.dir, 'sig-0.key')]);
    await bscupsJson(
      ['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', join(work, 'update-1.0.1.sh'), '--sign-with', join(keyA.dir, 'sig-0.pem'), '--sign-with', join(keyB.dir, 'sig-0.pem')],
      srv.env,
    );
    const r = await st.exchange();
    expect(r.response?.keyCrc).toBe(keyB.crc);
    expect(r.update).toMatchObject({ outcome: 'verified', ran: true });
  });

  it('refuses a tampered file or a wrong signature at upload, storing nothing', async () => {
    const eui = '00000000000000A5';
    await stationHome('a5', eui, [join(keyA.dir, 'sig-0.key')]);
    const file = join(work, 'tampered.sh');
    await copyFile(join(work, 'update-1.0.1.sh'), file);
    await bscupsJson(['firmware', 'sign', '--key', join(keyA.dir, 'sig-0.pem'), file]);
    await writeFile(file, SCRIPT('6.6.6'));
    const blobsBefore = await srv.runtime.blobs.list('fwupgrades');
    const tampered = await runCli(['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', file, '--signature', `${file}.sig`, '--key-crc', String(keyA.crc)], srv.env);
    expect(tampered.code).toBe(2);
    expect(tampered.stderr).toContain('does not verify');
    const wrongKey = await bscupsInProcess(['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', file, '--signature', `${file}.sig`, '--key-crc', String(keyB.crc), '--public-key', join(keyB.dir, 'sig-0.key')], srv.env);
    expect(wrongKey.code).toBe(2);
    const unknownKey = await bscupsInProcess(['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', file, '--signature', `${file}.sig`, '--key-crc', '12345'], srv.env);
    expect(unknownKey.code).toBe(3);
    expect(await srv.runtime.blobs.list('fwupgrades')).toEqual(blobsBefore);
    expect((await srv.runtime.registry.getStation(eui))?.firmware).toBeNull();
  });

  it('an update that never rewrites version.txt fails after N offers, is no longer sent, and retry offers it again', async () => {
    const eui = '00000000000000A6';
    const st = await stationHome('a6', eui, [join(keyA.dir, 'sig-0.key')]);
    const file = join(work, 'noop.sh');
    await writeFile(file, '#!/bin/sh\nexit 0\n');
    await bscupsJson(['firmware', 'upgrade', '--station', eui, '--package', '2.0.0', '--file', file, '--sign-with', join(keyA.dir, 'sig-0.pem'), '--max-offers', '2'], srv.env);
    expect((await st.exchange()).update?.ran).toBe(true);
    expect((await st.exchange()).update?.ran).toBe(true);
    const third = await st.exchange();
    expect(third.update).toBeUndefined();
    expect(third.nothingToChange).toBe(true);
    expect((await st.exchange()).update).toBeUndefined();
    const [status] = await bscupsJson<{ firmware: { state: string; offers: number; lastError: string } }[]>(['firmware', 'status', '--station', eui], srv.env);
    expect(status?.firmware.state).toBe('failed');
    expect(status?.firmware.offers).toBe(2);
    expect(status?.firmware.lastError).toContain('after 2 offer(s)');
    await bscupsJson(['firmware', 'retry', eui], srv.env);
    expect((await st.exchange()).update?.ran).toBe(true);
  });

  it('refuses a downgrade unless --allow-downgrade', async () => {
    const eui = '00000000000000A7';
    const st = await stationHome('a7', eui, [join(keyA.dir, 'sig-0.key')], '1.2.0');
    await st.exchange(); // the server learns 1.2.0
    const args = ['firmware', 'upgrade', '--station', eui, '--package', '1.0.1', '--file', join(work, 'update-1.0.1.sh'), '--sign-with', join(keyA.dir, 'sig-0.pem')];
    const refused = await bscupsInProcess(args, srv.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--allow-downgrade');
    await bscupsJson([...args, '--allow-downgrade'], srv.env);
    expect((await st.exchange()).update?.outcome).toBe('verified');
  });

  it('delivers a 50 MB update intact, stored once for two stations', async () => {
    const file = join(work, 'big.bin');
    const filler = randomBytes(50 * 1024 * 1024);
    await writeFile(file, Buffer.concat([Buffer.from(SCRIPT('3.0.0')), filler]));
    const sha = createHash('sha256').update(await readFile(file)).digest('hex');
    const st1 = await stationHome('b1', '00000000000000B1', [join(keyA.dir, 'sig-0.key')]);
    const st2 = await stationHome('b2', '00000000000000B2', [join(keyA.dir, 'sig-0.key')]);
    const up = await bscupsJson<{ sha256: string; blob: string }>(
      ['firmware', 'upgrade', '--station', '00000000000000B1', '00000000000000B2', '--package', '3.0.0', '--file', file, '--sign-with', join(keyA.dir, 'sig-0.pem')],
      srv.env,
    );
    expect(up.sha256).toBe(sha);
    expect((await srv.runtime.blobs.list('fwupgrades')).filter((n) => n === up.blob)).toHaveLength(1);
    const [r1, r2] = await Promise.all([st1.exchange(), st2.exchange()]);
    for (const r of [r1, r2]) {
      expect(r?.update).toMatchObject({ outcome: 'verified', ran: true, sha256: sha });
    }
    expect((await st1.exchange()).request.package).toBe('3.0.0');
  }, 120_000);
});
