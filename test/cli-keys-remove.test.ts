import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';

const EUI = '0016C001FF10D001';
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-keys-remove-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('bscups keys remove', () => {
  it('is refused while a firmware target signed by the key is in flight, then removes it', async () => {
    const key = await bscupsJson<{ crc: number; privateKey: string; stationKey: string }>(['keys', 'generate', '--out', join(dir, 'keys')], env);
    await bscupsJson(['keys', 'add', key.stationKey, '--name', 'prod'], env);
    await bscupsJson(['station', 'add', EUI], env);
    await writeFile(join(dir, 'update.sh'), '#!/bin/sh\necho 1.0.1 > "$STATION_HOME/version.txt"\n');
    await bscupsJson(['firmware', 'upgrade', '--station', EUI, '--package', '1.0.1', '--file', join(dir, 'update.sh'), '--sign-with', key.privateKey], env);

    const refused = await runCli(['keys', 'remove', String(key.crc)], env);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('signing_key_in_use');
    expect(refused.stderr).toContain(EUI);
    expect(await bscupsJson<{ crc: number }[]>(['keys', 'list'], env)).toEqual([expect.objectContaining({ crc: key.crc })]);

    await bscupsJson(['station', 'remove', EUI], env);
    expect(await bscupsJson(['keys', 'remove', String(key.crc)], env)).toEqual({ crc: key.crc, removed: true });
    expect(await bscupsJson(['keys', 'list'], env)).toEqual([]);

    const again = await bscupsInProcess(['keys', 'remove', String(key.crc)], env);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('signing_key_not_found');
    const bad = await bscupsInProcess(['keys', 'remove', 'sig-0.key'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid_key_crc');
  });
});
