import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsBlobStore, type BlobStore } from '../src/blobs/index.js';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'bscups-fs-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

describe('fs blob store', () => {
  it('reports a vanished store folder as unavailable, never as "not found"', async () => {
    const dir = path.join(root, 'store');
    const store: BlobStore = await createFsBlobStore(dir);
    await store.put('stationcredentials', 'a.bin', text('a'));
    await rm(dir, { recursive: true });
    const outage = { code: 'blobs_unavailable', kind: 'unavailable' };
    expect(await failure(store.get('stationcredentials', 'a.bin'))).toMatchObject(outage);
    expect(await failure(store.stat('stationcredentials', 'a.bin'))).toMatchObject(outage);
    expect(await failure(store.delete('stationcredentials', 'a.bin'))).toMatchObject(outage);
    expect(await failure(store.list('stationcredentials'))).toMatchObject(outage);
    expect(await failure(store.put('stationcredentials', 'b.bin', text('b')))).toMatchObject(outage);
    const ping = await failure(store.ping());
    expect(ping).toMatchObject(outage);
    expect((ping as Error).message).toContain(dir);
  });

  it('lists only blobs: no temp files, dotfiles or folders', async () => {
    const store = await createFsBlobStore(root);
    await store.put('fwupgrades', 'real.bin', text('r'));
    await writeFile(path.join(root, 'fwupgrades', '.partial'), 'x');
    await writeFile(path.join(root, 'fwupgrades', '.tmp', 'real.bin.abcd'), 'x');
    await writeFile(path.join(root, 'fwupgrades', 'bad name'), 'x');
    expect(await store.list('fwupgrades')).toEqual(['real.bin']);
  });

  it('sweeps temp files left by a crash, and only stale ones', async () => {
    await createFsBlobStore(root);
    const temps = path.join(root, 'stationcredentials', '.tmp');
    await writeFile(path.join(temps, 'old.bin.1111'), 'x');
    await writeFile(path.join(temps, 'fresh.bin.2222'), 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path.join(temps, 'old.bin.1111'), twoHoursAgo, twoHoursAgo);
    await createFsBlobStore(root);
    expect(await readdir(temps)).toEqual(['fresh.bin.2222']);
  });

  it('cleans partial uploads of a writer that died at start-up, and keeps those of a live one', async () => {
    await createFsBlobStore(root);
    const temps = path.join(root, 'fwupgrades', '.tmp');
    // A temp name carries its writer (host tag, pid); take the tag from a real put in flight.
    const store = await createFsBlobStore(root);
    let tag = '';
    await store.put('fwupgrades', 'probe.bin', text('p'), {
      beforeCommit: async () => {
        tag = ((await readdir(temps))[0] ?? '').split('.')[0] ?? '';
      },
    });
    expect(tag).toMatch(/^[0-9a-f]{8}$/);
    const dead = spawn(process.execPath, ['-e', '0']);
    await once(dead, 'exit');
    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(path.join(temps, `${tag}.${dead.pid}.aaaaaaaaaaaa.update.bin`), 'partial');
      await writeFile(path.join(temps, `${tag}.${alive.pid}.bbbbbbbbbbbb.update.bin`), 'in flight');
      await createFsBlobStore(root);
      expect(await readdir(temps)).toEqual([`${tag}.${alive.pid}.bbbbbbbbbbbb.update.bin`]);
    } finally {
      alive.kill();
    }
  });

  it('refuses symlinks and non-regular files in the store, and lists only regular files', async () => {
    const store = await createFsBlobStore(root);
    const secret = path.join(root, 'outside-secret');
    await writeFile(secret, 'not a blob');
    await symlink(secret, path.join(root, 'fwupgrades', 'sha256-link'));
    await mkdir(path.join(root, 'fwupgrades', 'sha256-dir'));
    for (const name of ['sha256-link', 'sha256-dir']) {
      expect(await failure(store.get('fwupgrades', name))).toMatchObject({ code: 'blob_not_a_file' });
      expect(await failure(store.stat('fwupgrades', name))).toMatchObject({ code: 'blob_not_a_file' });
    }
    expect(await store.list('fwupgrades')).toEqual([]);
  });

  it('creates its folders 0700 and its files 0600', async () => {
    const dir = path.join(root, 'fresh');
    const store = await createFsBlobStore(dir);
    await store.put('stationcredentials', 'key.bin', text('k'));
    await store.put('fwupgrades', 'fw.bin', text('f'));
    for (const folder of [dir, path.join(dir, 'stationcredentials'), path.join(dir, 'fwupgrades'), path.join(dir, 'fwupgrades', '.tmp')]) {
      expect((await stat(folder)).mode & 0o777, folder).toBe(0o700);
    }
    expect((await stat(path.join(dir, 'stationcredentials', 'key.bin'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'fwupgrades', 'fw.bin'))).mode & 0o777).toBe(0o600);
  });

  it('keeps serving a reader whose blob is deleted meanwhile', async () => {
    const store = await createFsBlobStore(root);
    await store.put('fwupgrades', 'gone.bin', text('still here'));
    const blob = await store.get('fwupgrades', 'gone.bin');
    expect(await store.delete('fwupgrades', 'gone.bin')).toBe(true);
    const parts: Buffer[] = [];
    for await (const chunk of blob!.stream) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('still here');
  });

  it('reads the opened version at a position into the caller\'s buffer, after the name was replaced too', async () => {
    const store = await createFsBlobStore(root);
    await store.put('fwupgrades', 'fw.bin', text('0123456789'));
    const blob = await store.get('fwupgrades', 'fw.bin');
    await store.put('fwupgrades', 'fw.bin', text('abcdefghijklmnop'));
    const target = Buffer.alloc(4);
    expect(await blob!.readAt!(target, 0)).toBe(4);
    expect(target.toString()).toBe('0123');
    expect(await blob!.readAt!(target, 8)).toBe(2);
    expect(target.subarray(0, 2).toString()).toBe('89');
    expect(await blob!.readAt!(target, 10)).toBe(0);
    blob!.stream.destroy();
    await once(blob!.stream, 'close');
  });

  it('rejects an empty root folder', async () => {
    expect(await failure(createFsBlobStore(' '))).toMatchObject({ code: 'invalid_blob_root', kind: 'invalid_argument' });
  });
});
