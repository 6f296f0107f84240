import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
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

  it('keeps serving a reader whose blob is deleted meanwhile', async () => {
    const store = await createFsBlobStore(root);
    await store.put('fwupgrades', 'gone.bin', text('still here'));
    const blob = await store.get('fwupgrades', 'gone.bin');
    expect(await store.delete('fwupgrades', 'gone.bin')).toBe(true);
    const parts: Buffer[] = [];
    for await (const chunk of blob!.stream) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('still here');
  });

  it('rejects an empty root folder', async () => {
    expect(await failure(createFsBlobStore(' '))).toMatchObject({ code: 'invalid_blob_root', kind: 'invalid_argument' });
  });
});
