import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFsBlobStore } from '../src/blobs/index.js';
import { createRegistryStores } from '../src/registry/index.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';

const EUI = '0016C001FF10A235';
let work: string;
let env: Record<string, string>;

/** Blob names in a container folder, read from the disk, not through the code under test. */
const onDisk = async (container: string) => (await readdir(join(work, 'blobs', container))).filter((n) => !n.startsWith('.')).sort();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-gc-'));
  env = { BSCUPS_DATABASE: join(work, 'registry.sqlite'), BSCUPS_BLOBS: join(work, 'blobs') };
  const { registry, rollouts } = await createRegistryStores(env.BSCUPS_DATABASE as string);
  await registry.migrate();
  await registry.createStation({ eui: EUI });
  const blobs = await createFsBlobStore(env.BSCUPS_BLOBS as string);
  const used = await blobs.put('fwupgrades', 'sha256-used', Buffer.from('targeted'));
  await blobs.put('fwupgrades', 'sha256-unused', Buffer.from('left over'));
  const library = await blobs.put('fwupgrades', 'sha256-library', Buffer.from('in the library, no station yet'));
  await blobs.put('fwupgrades', 'sha256-fresh', Buffer.from('an upload still running'));
  await blobs.put('stationcredentials', `${EUI}-cups-00000001`, Buffer.from('desired'));
  await blobs.put('stationcredentials', `${EUI}-cups-00000002`, Buffer.from('replaced, with a key in it'));
  await registry.setFirmwareTarget(EUI, {
    package: '1.0.1',
    blob: 'sha256-used',
    size: used.size,
    sha256: used.sha256,
    signatures: [{ keyCrc: 1, signature: Buffer.from([0x30, 0x06, 2, 1, 1, 2, 1, 1]).toString('base64') }],
    maxOffers: 3,
    fromPackage: null,
    requestedAt: new Date(),
  });
  await rollouts.addPackage(
    { package: '2.0.0', blob: 'sha256-library', size: library.size, sha256: library.sha256, signatures: [], models: [], createdBy: 'test' },
    new Date(),
  );
  await registry.updateStation(EUI, { desired: { cupsCred: { blob: `${EUI}-cups-00000001`, crc: 1, size: 7 } } });
  await registry.close();
  const old = new Date(Date.now() - 2 * 86_400_000);
  for (const [container, name] of [['fwupgrades', 'sha256-used'], ['fwupgrades', 'sha256-unused'], ['fwupgrades', 'sha256-library'], ['stationcredentials', `${EUI}-cups-00000001`], ['stationcredentials', `${EUI}-cups-00000002`]]) {
    await utimes(join(work, 'blobs', container as string, name as string), old, old);
  }
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('bscups blobs gc', () => {
  it('lists what nothing uses (no station target, library package or desired credential) without deleting it, then deletes it with --delete, keeping fresh blobs', async () => {
    const dry = await bscupsJson<{ dryRun: boolean; blobs: { container: string; name: string; deleted: boolean }[] }>(['blobs', 'gc'], env);
    expect(dry.dryRun).toBe(true);
    expect(dry.blobs.map((b) => [b.container, b.name, b.deleted])).toEqual([
      ['fwupgrades', 'sha256-unused', false],
      ['stationcredentials', `${EUI}-cups-00000002`, false],
    ]);
    expect(await onDisk('fwupgrades')).toEqual(['sha256-fresh', 'sha256-library', 'sha256-unused', 'sha256-used']);

    const human = await bscupsInProcess(['blobs', 'gc'], env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('run again with --delete');

    const done = await bscupsJson<{ dryRun: boolean; blobs: { name: string; deleted: boolean }[] }>(['blobs', 'gc', '--delete'], env);
    expect(done.dryRun).toBe(false);
    expect(done.blobs.every((b) => b.deleted)).toBe(true);
    expect(await onDisk('fwupgrades')).toEqual(['sha256-fresh', 'sha256-library', 'sha256-used']);
    expect(await onDisk('stationcredentials')).toEqual([`${EUI}-cups-00000001`]);

    // With no minimum age, the fresh one goes too.
    await bscupsJson(['blobs', 'gc', '--delete', '--min-age', '0s'], env);
    expect(await onDisk('fwupgrades')).toEqual(['sha256-library', 'sha256-used']);
  });
});
