import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCupsError } from '../src/core/errors.js';
import {
  CONTAINERS,
  createAzureBlobStore,
  createBlobStore,
  createFsBlobStore,
  createMemoryBlobStore,
  type BlobStore,
  type ContainerName,
} from '../src/blobs/index.js';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  generateAccountSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { startAzuriteOrSkip } from './support/azurite.js';

interface Harness {
  readonly store: BlobStore;
  /** Files the driver left outside its blobs (temp files, escapes); fs only. */
  leftovers?(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const SC: ContainerName = 'stationcredentials';
const FW: ContainerName = 'fwupgrades';
const BAD_NAMES = ['../x', 'a/b', '..', '.', '.hidden', '', 'a\0b', 'x'.repeat(201), 'a\\b', 'sp ace', 'é'];

// ---- deterministic data, streamed: nothing here builds a whole large blob ----

function* patternChunks(size: number, seed: number): Generator<Buffer> {
  const base = Buffer.alloc(CHUNK);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    base.writeUInt32LE(x >>> 0, i);
  }
  for (let off = 0, n = 0; off < size; off += CHUNK, n++) {
    const chunk = Buffer.from(base.subarray(0, Math.min(CHUNK, size - off)));
    if (chunk.length >= 4) chunk.writeUInt32BE(n, 0); // every chunk differs, so a shuffled or spliced read shows
    yield chunk;
  }
}

const patternStream = (size: number, seed: number): Readable => Readable.from(patternChunks(size, seed));

function patternSha(size: number, seed: number): string {
  const hash = createHash('sha256');
  for (const c of patternChunks(size, seed)) hash.update(c);
  return hash.digest('hex');
}

function failingStream(goodBytes: number, seed: number): Readable {
  return Readable.from(
    (async function* () {
      yield* patternChunks(goodBytes, seed);
      throw new Error('source broke halfway');
    })(),
  );
}

async function digest(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function readText(store: BlobStore, container: ContainerName, name: string): Promise<string | undefined> {
  const blob = await store.get(container, name);
  if (!blob) return undefined;
  const parts: Buffer[] = [];
  for await (const chunk of blob.stream) parts.push(chunk as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  expect(Buffer.byteLength(text)).toBe(blob.size);
  return text;
}

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function expectCupsError(p: Promise<unknown>, code: string, kind: string): Promise<Error> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCupsError(error), `expected CupsError ${code}, got ${String(error)}`).toBe(true);
  expect(error).toMatchObject({ code, kind });
  return error as Error;
}

// ---- the suite every driver must pass ----

function blobStoreConformance(driver: string, make: () => Promise<Harness>, extra?: (h: () => Harness) => void): void {
  describe(`BlobStore conformance: ${driver}`, () => {
    let harness: Harness | undefined;
    const h = (): Harness => {
      if (!harness) throw new Error('harness not ready');
      return harness;
    };
    beforeAll(async () => {
      harness = await make();
    });
    afterAll(async () => {
      await harness?.store.close();
      await harness?.cleanup();
    });

    it('puts, gets, stats, lists and deletes a blob', async () => {
      const { store } = h();
      const before = Date.now();
      const put = await store.put(SC, 'basic-a.bin', bytes('hello'));
      expect(put).toMatchObject({ size: 5, sha256: sha('hello') });
      expect(Math.abs(put.lastModified.getTime() - before)).toBeLessThan(60_000);
      expect(await readText(store, SC, 'basic-a.bin')).toBe('hello');
      const info = await store.stat(SC, 'basic-a.bin');
      expect(info?.size).toBe(5);
      expect(info?.lastModified).toBeInstanceOf(Date);
      await store.put(SC, 'basic-c.bin', bytes('c'));
      await store.put(SC, 'basic-b.bin', Readable.from([Buffer.from('b')]));
      await store.put(SC, 'other.bin', bytes('o'));
      expect(await store.list(SC, 'basic-')).toEqual(['basic-a.bin', 'basic-b.bin', 'basic-c.bin']);
      expect(await store.list(SC)).toEqual(expect.arrayContaining(['basic-a.bin', 'other.bin']));
      expect(await store.list(FW, 'basic-')).toEqual([]);
      expect(await store.delete(SC, 'basic-a.bin')).toBe(true);
      expect(await store.get(SC, 'basic-a.bin')).toBeUndefined();
      expect(await store.stat(SC, 'basic-a.bin')).toBeUndefined();
      expect(await store.delete(SC, 'basic-a.bin')).toBe(false);
      expect(await store.list(SC, 'basic-')).toEqual(['basic-b.bin', 'basic-c.bin']);
    });

    it('answers "absent" with undefined, false and []', async () => {
      const { store } = h();
      for (const c of CONTAINERS) {
        expect(await store.get(c, 'never-written')).toBeUndefined();
        expect(await store.stat(c, 'never-written')).toBeUndefined();
        expect(await store.delete(c, 'never-written')).toBe(false);
        expect(await store.list(c, 'never-')).toEqual([]);
      }
    });

    it('overwrites, keeping containers apart', async () => {
      const { store } = h();
      await store.put(FW, 'over.bin', bytes('first version'));
      await store.put(SC, 'over.bin', bytes('credential'));
      const second = await store.put(FW, 'over.bin', bytes('v2'));
      expect(second).toMatchObject({ size: 2, sha256: sha('v2') });
      expect(await readText(store, FW, 'over.bin')).toBe('v2');
      expect((await store.stat(FW, 'over.bin'))?.size).toBe(2);
      expect(await readText(store, SC, 'over.bin')).toBe('credential');
    });

    it('stores an empty blob', async () => {
      const { store } = h();
      expect(await store.put(SC, 'empty.bin', new Uint8Array(0))).toMatchObject({ size: 0, sha256: sha('') });
      expect(await readText(store, SC, 'empty.bin')).toBe('');
      expect((await store.stat(SC, 'empty.bin'))?.size).toBe(0);
    });

    it('computes SHA-256 and size while streaming and reports progress up to the size', async () => {
      const { store } = h();
      const size = 5 * MiB + 123;
      const seen: number[] = [];
      const put = await store.put(FW, 'progress.bin', patternStream(size, 7), { size, onProgress: (n) => seen.push(n) });
      expect(put).toMatchObject({ size, sha256: patternSha(size, 7) });
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.at(-1)).toBe(size);
      expect(seen.every((n, i) => i === 0 || n > (seen[i - 1] ?? 0))).toBe(true);
      const blob = await store.get(FW, 'progress.bin');
      expect(blob?.size).toBe(size);
      expect(await digest(blob!.stream)).toEqual({ sha256: patternSha(size, 7), size });
    });

    it('fails a put whose size differs from the declared one and keeps the old blob', async () => {
      const { store } = h();
      await store.put(SC, 'sized.bin', bytes('old content'));
      const short = await expectCupsError(store.put(SC, 'sized.bin', bytes('new'), { size: 10 }), 'blob_size_mismatch', 'invalid_argument');
      expect(short.message).toMatch(/expected 10 bytes but the source gave 3/);
      await expectCupsError(store.put(SC, 'sized.bin', patternStream(5 * MiB, 3), { size: 4 * MiB }), 'blob_size_mismatch', 'invalid_argument');
      expect(await readText(store, SC, 'sized.bin')).toBe('old content');
      await expectCupsError(store.put(SC, 'sized-new.bin', bytes('abc'), { size: 4 }), 'blob_size_mismatch', 'invalid_argument');
      expect(await store.stat(SC, 'sized-new.bin')).toBeUndefined();
      expect(await store.list(SC, 'sized')).toEqual(['sized.bin']);
      expect((await h().leftovers?.()) ?? []).toEqual([]);
    });

    it('keeps the old blob when the source stream errors halfway', async () => {
      const { store } = h();
      await store.put(FW, 'broken.bin', bytes('the good one'));
      // Larger than one Azure block, so some blocks are staged before the failure.
      await expect(store.put(FW, 'broken.bin', failingStream(6 * MiB, 5))).rejects.toThrow('source broke halfway');
      await expect(store.put(FW, 'broken-new.bin', failingStream(6 * MiB, 6))).rejects.toThrow('source broke halfway');
      expect(await readText(store, FW, 'broken.bin')).toBe('the good one');
      expect(await store.stat(FW, 'broken-new.bin')).toBeUndefined();
      expect(await store.list(FW, 'broken')).toEqual(['broken.bin']);
      expect((await h().leftovers?.()) ?? []).toEqual([]);
    });

    it('shows the written size and SHA-256 to beforeCommit, and keeps the old blob when it refuses', async () => {
      const { store } = h();
      await store.put(FW, 'checked.bin', bytes('the good one'));
      const seen: { size: number; sha256: string }[] = [];
      // Small (one request) and larger than one Azure block (staged blocks), refused before they become visible.
      for (const [size, seed] of [[1000, 11], [5 * MiB, 12]] as const) {
        const refused = store.put(FW, 'checked.bin', patternStream(size, seed), {
          beforeCommit: (written) => {
            seen.push({ ...written });
            throw new Error('checked and refused');
          },
        });
        await expect(refused).rejects.toThrow('checked and refused');
        expect(await readText(store, FW, 'checked.bin')).toBe('the good one');
      }
      expect(seen).toEqual([
        { size: 1000, sha256: patternSha(1000, 11) },
        { size: 5 * MiB, sha256: patternSha(5 * MiB, 12) },
      ]);
      await store.put(FW, 'checked.bin', bytes('accepted'), { beforeCommit: () => undefined });
      expect(await readText(store, FW, 'checked.bin')).toBe('accepted');
      expect((await h().leftovers?.()) ?? []).toEqual([]);
    });

    it('rejects names that could escape the store, in every method', async () => {
      const { store } = h();
      for (const name of BAD_NAMES) {
        const shown = JSON.stringify(name.slice(0, 60));
        const e = await expectCupsError(store.put(SC, name, bytes('x')), 'invalid_blob_name', 'invalid_argument');
        expect(e.message).toContain(shown);
        await expectCupsError(store.get(SC, name), 'invalid_blob_name', 'invalid_argument');
        await expectCupsError(store.stat(SC, name), 'invalid_blob_name', 'invalid_argument');
        await expectCupsError(store.delete(SC, name), 'invalid_blob_name', 'invalid_argument');
      }
      const longest = 'x'.repeat(200);
      await store.put(SC, longest, bytes('ok'));
      expect(await readText(store, SC, longest)).toBe('ok');
      expect(await store.delete(SC, longest)).toBe(true);
      const container = 'etc' as ContainerName;
      await expectCupsError(store.put(container, 'a', bytes('x')), 'invalid_container', 'invalid_argument');
      await expectCupsError(store.get(container, 'a'), 'invalid_container', 'invalid_argument');
      await expectCupsError(store.list(container), 'invalid_container', 'invalid_argument');
      await expectCupsError(store.list(SC, '../'), 'invalid_blob_prefix', 'invalid_argument');
      expect((await h().leftovers?.()) ?? []).toEqual([]);
    });

    it('streams a 20 MB blob in and out with a matching SHA-256', async () => {
      const { store } = h();
      const size = 20 * 1000 * 1000;
      const expected = patternSha(size, 20);
      const put = await store.put(FW, 'big.bin', patternStream(size, 20), { size });
      expect(put).toMatchObject({ size, sha256: expected });
      const blob = await store.get(FW, 'big.bin');
      expect(blob?.size).toBe(size);
      expect(await digest(blob!.stream)).toEqual({ sha256: expected, size });
      expect(await store.delete(FW, 'big.bin')).toBe(true);
    });

    it('lets a reader opened before an overwrite read one whole version', async () => {
      const { store } = h();
      const versions = new Map([
        [patternSha(6 * MiB, 1), 6 * MiB],
        [patternSha(5 * MiB + 17, 2), 5 * MiB + 17],
      ]);
      await store.put(FW, 'swap.bin', patternStream(6 * MiB, 1));
      const early = await store.get(FW, 'swap.bin');
      await store.put(FW, 'swap.bin', patternStream(5 * MiB + 17, 2));
      const read = await digest(early!.stream);
      expect(versions.get(read.sha256), 'reader saw a mix of versions').toBe(read.size);
      expect(early?.size).toBe(read.size);
      const late = await store.get(FW, 'swap.bin');
      expect(await digest(late!.stream)).toEqual({ sha256: patternSha(5 * MiB + 17, 2), size: 5 * MiB + 17 });
    });

    it('ends concurrent puts of one name with one whole version', async () => {
      const { store } = h();
      const sizes = [5 * MiB, 5 * MiB + 1];
      const results = await Promise.allSettled(sizes.map((s, i) => store.put(SC, 'race.bin', patternStream(s, 30 + i))));
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.sha256] : []));
      expect(won.length).toBeGreaterThan(0);
      // A driver may refuse the loser as a conflict, but nothing else.
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ kind: 'conflict' });
      const final = await digest((await store.get(SC, 'race.bin'))!.stream);
      expect(won).toContain(final.sha256);
    });

    it('answers ping', async () => {
      await expect(h().store.ping()).resolves.toBeUndefined();
    });

    extra?.(h);
  });
}

// ---- the drivers ----

blobStoreConformance('fs', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'bscups-blobs-'));
  const store = await createFsBlobStore(path.join(root, 'store'));
  return {
    store,
    // Anything in a temp folder, or outside the two container folders, is a leak or an escape.
    async leftovers() {
      const found: string[] = [];
      for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
        const rel = path.relative(root, path.join(entry.parentPath, entry.name));
        const parts = rel.split(path.sep);
        const inContainer = parts[0] === 'store' && (CONTAINERS as readonly string[]).includes(parts[1] ?? '');
        if (entry.isDirectory() && (parts.length <= 2 || (parts.length === 3 && parts[2] === '.tmp'))) continue;
        if (!inContainer || parts.includes('.tmp') || parts.length !== 3) found.push(rel);
      }
      return found;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

blobStoreConformance('memory', async () => ({ store: createMemoryBlobStore(), cleanup: async () => undefined }));

const azurite = await startAzuriteOrSkip('Azure blob conformance (Azurite)');
afterAll(async () => {
  await azurite?.stop();
});

describe.skipIf(!azurite)('Azure driver on Azurite', () => {
  const connectionString = azurite?.connectionString ?? '';
  const prefix = `t${randomBytes(4).toString('hex')}-`;

  blobStoreConformance(
    'azure',
    async () => ({ store: await createAzureBlobStore({ connectionString, containerPrefix: prefix }), cleanup: async () => undefined }),
    () => {
      it('treats containers that do not exist yet as empty, and pings fine', async () => {
        const fresh = await createAzureBlobStore({ connectionString, containerPrefix: `u${randomBytes(4).toString('hex')}-` });
        expect(await fresh.get(SC, 'nothing')).toBeUndefined();
        expect(await fresh.stat(FW, 'nothing')).toBeUndefined();
        expect(await fresh.delete(FW, 'nothing')).toBe(false);
        expect(await fresh.list(SC)).toEqual([]);
        await expect(fresh.ping()).resolves.toBeUndefined();
      });

      it('reports a rejected key as a failure, never as "not found"', async () => {
        const wrongKey = connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${randomBytes(64).toString('base64')}`);
        const store = await createAzureBlobStore({ connectionString: wrongKey, containerPrefix: prefix });
        await expectCupsError(store.get(SC, 'basic-b.bin'), 'blobs_unavailable', 'unavailable');
        await expectCupsError(store.stat(SC, 'basic-b.bin'), 'blobs_unavailable', 'unavailable');
        await expectCupsError(store.delete(SC, 'basic-b.bin'), 'blobs_unavailable', 'unavailable');
        await expectCupsError(store.list(SC), 'blobs_unavailable', 'unavailable');
        await expectCupsError(store.put(SC, 'x.bin', bytes('x')), 'blobs_unavailable', 'unavailable');
        const e = await expectCupsError(store.ping(), 'blobs_unavailable', 'unavailable');
        expect(e.message).toMatch(/403/);
      });
    },
  );

  it('works through an account SAS URL, and reports a SAS without write permission as a failure', async () => {
    const part = (key: string): string => new RegExp(`${key}=([^;]+)`).exec(connectionString)?.[1] ?? '';
    const credential = new StorageSharedKeyCredential(part('AccountName'), part('AccountKey'));
    const sasUrl = (permissions: string): string => {
      const sas = generateAccountSASQueryParameters(
        {
          expiresOn: new Date(Date.now() + 3600_000),
          permissions: AccountSASPermissions.parse(permissions),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          services: AccountSASServices.parse('b').toString(),
          protocol: SASProtocol.HttpsAndHttp,
        },
        credential,
      );
      return `${part('BlobEndpoint')}?${sas.toString()}`;
    };
    const store = await createBlobStore(`azure:${sasUrl('rwdlac')}`);
    await store.ping();
    const put = await store.put(FW, 'sas.bin', bytes('via sas'));
    expect(put.sha256).toBe(sha('via sas'));
    expect(await readText(store, FW, 'sas.bin')).toBe('via sas');
    expect(await store.list(FW, 'sas')).toEqual(['sas.bin']);
    const readOnly = await createBlobStore(sasUrl('rl'));
    expect(await readText(readOnly, FW, 'sas.bin')).toBe('via sas');
    const e = await expectCupsError(readOnly.put(FW, 'sas.bin', bytes('overwrite')), 'blobs_unavailable', 'unavailable');
    expect(e.message).toMatch(/403/);
    expect(await readText(store, FW, 'sas.bin')).toBe('via sas');
  });

  it('fails ping fast with kind unavailable when the endpoint is dead', async () => {
    const dead = connectionString.replace(/BlobEndpoint=[^;]+/, 'BlobEndpoint=http://127.0.0.1:1/devstoreaccount1');
    const store = await createAzureBlobStore({ connectionString: dead });
    const started = Date.now();
    await expectCupsError(store.ping(), 'blobs_unavailable', 'unavailable');
    await expectCupsError(store.get(SC, 'a.bin'), 'blobs_unavailable', 'unavailable');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
