import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stationTransport } from './cups-tls.js';
import { parseCupsUri } from './cups-uri.js';
import { installUpdate, updateFolder } from './firmware.js';
import { initStationHome, readCredentialFiles, readStationHome } from './home.js';
import { createSimulatedStation } from './station.js';

// The simulator runs an update as Basics Station does (PROTOCOL.md 8.5): written to a folder of
// its own (the station's /tmp), run there with STATION_HOME naming the home, and run again at
// every start while it is left in place. So a test catches an update that writes a relative
// version.txt (it never confirms on a real station started elsewhere) or that never removes itself.

let home: string;
const EUI = '0016C001FF10A235';

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'bscups-sim-update-'));
  await initStationHome(home, { cupsUri: 'http://127.0.0.1:1', version: '1.0.0' });
});
afterEach(async () => rm(home, { recursive: true, force: true }));

const install = (script: string) =>
  installUpdate({ home, update: Buffer.from(script), signature: null, keyCrc: null, wait: true, log: () => {} });

async function version(): Promise<string | null> {
  return (await readStationHome(home)).version;
}

describe('an update runs like on the station', () => {
  it('in a working folder that is not the home: a relative version.txt does not confirm, $STATION_HOME/version.txt does', async () => {
    const relative = await install('#!/bin/sh\necho 2.0.0 > version.txt\npwd\n');
    expect(relative.ran).toBe(true);
    expect(relative.stdout.trim()).not.toBe(home);
    expect(relative.stdout.trim()).toBe(updateFolder(home));
    expect(await version()).toBe('1.0.0');

    const absolute = await install('#!/bin/sh\necho 2.0.0 > "$STATION_HOME/version.txt"\n');
    expect(absolute.exitCode).toBe(0);
    expect(await version()).toBe('2.0.0');
  });

  it('runs a leftover update.bin again at every start, until the update removes itself with rm -f "$0"', async () => {
    // An update that stays: each start (a new station process) runs it again.
    await install('#!/bin/sh\necho run >> "$STATION_HOME/runs"\n');
    const runs = async () => (await readFile(join(home, 'runs'), 'utf8')).trim().split('\n').length;
    expect(await runs()).toBe(1);
    const first = createSimulatedStation({ home, eui: EUI, timeoutMs: 2000 });
    await first.exchange();
    await first.exchange(); // not a start: nothing runs again
    expect(await runs()).toBe(2);
    await createSimulatedStation({ home, eui: EUI, timeoutMs: 2000 }).exchange();
    expect(await runs()).toBe(3);

    // The update the README recommends removes itself: nothing runs at the next start.
    await install('#!/bin/sh\necho run >> "$STATION_HOME/runs"\nrm -f "$0"\n');
    expect(await runs()).toBe(4);
    await createSimulatedStation({ home, eui: EUI, timeoutMs: 2000 }).exchange();
    expect(await runs()).toBe(4);
  });
});

describe('station files', () => {
  it('writes cups.key (and tc.key) for its owner only, and labels a plain-HTTP exchange auth none', async () => {
    await initStationHome(home, { cupsUri: 'http://127.0.0.1:1', cupsTrust: Buffer.from([0x30]), cupsCrt: Buffer.from([0x30]), cupsKey: Buffer.from([0x30]), tcKey: Buffer.from([0x30]) });
    for (const name of ['cups.key', 'tc.key']) expect(((await stat(join(home, name))).mode & 0o777).toString(8)).toBe('600');
    const transport = stationTransport(parseCupsUri('http://127.0.0.1:6090'), await readCredentialFiles(home, 'cups'));
    expect(transport.authMode).toBe('none');
    const lines: string[] = [];
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'cups.uri'), 'http://127.0.0.1:1');
    await createSimulatedStation({ home, eui: EUI, timeoutMs: 2000, log: (l) => lines.push(l) }).exchange();
    expect(lines).toContain('Connecting to CUPS ... http://127.0.0.1:1 (auth: none)');
  });
});
