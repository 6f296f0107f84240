import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initStationHome, readStationHome } from './index.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'bscups-home-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const ZERO4 = Buffer.alloc(4);

describe('readStationHome', () => {
  it('reports nulls, no keys and crc32 of 12 zero bytes for an empty home', async () => {
    const state = await readStationHome(home);
    expect(state).toEqual({ cupsUri: null, tcUri: null, version: null, keys: [], cupsCredCrc: 2077607535, tcCredCrc: 2077607535 });
  });

  it('trims only trailing space, tab, CR and LF from URIs and version.txt', async () => {
    await writeFile(join(home, 'cups.uri'), 'http://127.0.0.1:6090\r\n');
    await writeFile(join(home, 'tc.uri'), ' ws://127.0.0.1:6092 \t\n');
    await writeFile(join(home, 'version.txt'), '1.0.0\n\n');
    const state = await readStationHome(home);
    expect(state.cupsUri).toBe('http://127.0.0.1:6090');
    expect(state.tcUri).toBe(' ws://127.0.0.1:6092');
    expect(state.version).toBe('1.0.0');
  });

  it('reports a URI longer than the station buffer (127 characters) as null', async () => {
    await writeFile(join(home, 'cups.uri'), `http://${'a'.repeat(119)}:1\n`);
    await writeFile(join(home, 'tc.uri'), `ws://${'a'.repeat(120)}:1\n`);
    const state = await readStationHome(home);
    expect(state.cupsUri).toBeNull();
    expect(state.tcUri).toHaveLength(127);
  });

  it('lists the CRC of each whole sig-N.key and stops at the first missing index', async () => {
    const k0 = Buffer.alloc(64, 1);
    const k1 = Buffer.alloc(10, 2); // a size the station skips for verification but still reports
    await writeFile(join(home, 'sig-0.key'), k0);
    await writeFile(join(home, 'sig-1.key'), k1);
    await writeFile(join(home, 'sig-3.key'), k0);
    expect((await readStationHome(home)).keys).toEqual([crc32(k0) >>> 0, crc32(k1) >>> 0]);
    await rm(join(home, 'sig-0.key'));
    expect((await readStationHome(home)).keys).toEqual([]);
  });

  it('chains the credential CRC over trust, crt, key with missing or empty files as 4 zero bytes', async () => {
    const trust = Buffer.from('3003020101', 'hex');
    const key = Buffer.from('Authorization: Bearer x\r\n');
    await writeFile(join(home, 'tc.trust'), trust);
    await writeFile(join(home, 'tc.crt'), '');
    await writeFile(join(home, 'tc.key'), key);
    const expected = crc32(key, crc32(ZERO4, crc32(trust))) >>> 0;
    const state = await readStationHome(home);
    expect(state.tcCredCrc).toBe(expected);
    expect(state.tcCredCrc).toBe(crc32(Buffer.concat([trust, ZERO4, key])) >>> 0);
    expect(state.cupsCredCrc).toBe(2077607535);
  });
});

describe('initStationHome', () => {
  it('writes the given files and removes stale station files', async () => {
    await writeFile(join(home, 'tc.uri'), 'ws://old:1');
    await writeFile(join(home, 'sig-5.key'), 'x');
    await writeFile(join(home, 'unrelated.txt'), 'keep');
    const sig = Buffer.alloc(64, 7);
    await initStationHome(home, { cupsUri: 'http://127.0.0.1:1', version: '2.0.0', cupsTrust: Buffer.from('3000', 'hex'), sigKeys: [sig] });
    expect((await readdir(home)).sort()).toEqual(['cups.trust', 'cups.uri', 'sig-0.key', 'unrelated.txt', 'version.txt']);
    expect(await readFile(join(home, 'sig-0.key'))).toEqual(sig);
    const state = await readStationHome(home);
    expect(state.cupsUri).toBe('http://127.0.0.1:1');
    expect(state.tcUri).toBeNull();
    expect(state.version).toBe('2.0.0');
  });
});
