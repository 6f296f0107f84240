import { createHash, createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobStore, type BlobStore } from '../src/blobs/index.js';
import { startAzurite, type Azurite } from './support/azurite.js';
import { bscupsJson } from './support/cli-in-process.js';
import { startServeProcess, type ServeProcess } from './support/serve-process.js';

// Firmware uploads through the admin API stream the request body straight into
// the blob store's staged write, hashed and verified on the way: a 200 MB upload
// to a real `bscups serve` child neither grows its memory by the upload's size
// nor writes a spool file to its TMPDIR; a bad signature and a client gone
// mid-upload leave nothing stored. On the filesystem driver and on Azure (Azurite).

const MB = 1024 * 1024;

/** `total` bytes generated on the fly, the same every time: never held whole. */
function* generated(total: number, seed: number): Generator<Buffer> {
  const block = Buffer.alloc(MB);
  for (let off = 0, i = 0; off < total; off += MB, i++) {
    block.writeUInt32BE(seed, 0);
    block.writeUInt32BE(i, 4);
    block.fill(i % 251, 8);
    yield total - off >= MB ? block : block.subarray(0, total - off);
  }
}

function digest(total: number, seed: number, key: KeyObject): { sha256: string; signature: string } {
  const hash = createHash('sha256');
  const sig = createSign('sha512');
  for (const chunk of generated(total, seed)) {
    hash.update(chunk);
    sig.update(chunk);
  }
  return { sha256: hash.digest('hex'), signature: sig.sign({ key, dsaEncoding: 'der' }).toString('base64') };
}

interface Sent {
  readonly status: number;
  readonly body: { error?: { code: string } } & Record<string, unknown>;
}

/** PUT /firmware/:pkg with the generated body streamed (backpressure honoured); `cutAt` drops the connection after that many bytes. */
function put(admin: string, key: string, pkg: string, query: URLSearchParams, total: number, seed: number, cutAt?: number): Promise<Sent | 'cut'> {
  return new Promise((resolve, reject) => {
    const req = request(`${admin}/firmware/${pkg}?${query}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream', 'content-length': String(total) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Sent['body'] }));
    });
    req.on('error', (e) => (cutAt === undefined ? reject(e) : resolve('cut')));
    const chunks = generated(total, seed);
    let sent = 0;
    const pump = (): void => {
      for (;;) {
        if (cutAt !== undefined && sent >= cutAt) {
          req.destroy();
          setTimeout(() => resolve('cut'), 100);
          return;
        }
        const next = chunks.next();
        if (next.done === true) {
          req.end();
          return;
        }
        sent += next.value.length;
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const drivers = [
  { name: 'filesystem', big: 200 * MB },
  { name: 'azure', big: 200 * MB },
] as const;

describe.each(drivers)('firmware upload streamed into the $name blob store', ({ name, big }) => {
  let work: string;
  let spoolDir: string;
  let azurite: Azurite | undefined;
  let blobsLocation: string;
  let blobs: BlobStore;
  let serve: ServeProcess;
  let admin: string;
  let key: string;
  let keyCrc: number;
  let signer: KeyObject;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bscups-upload-stream-'));
    spoolDir = join(work, 'tmp');
    await mkdir(spoolDir);
    if (name === 'azure') {
      azurite = await startAzurite();
      blobsLocation = azurite.connectionString;
    } else {
      blobsLocation = join(work, 'blobs');
    }
    const env = { BSCUPS_DATABASE: join(work, 'registry.db'), BSCUPS_BLOBS: blobsLocation };
    keyCrc = (await bscupsJson<{ crc: number }>(['keys', 'generate', '--out', join(work, 'keys')])).crc;
    signer = createPrivateKey(await readFile(join(work, 'keys', 'sig-0.pem')));
    await bscupsJson(['keys', 'add', join(work, 'keys', 'sig-0.key')], env);
    // TMPDIR of the server: an upload must not leave (or pass through) a file there.
    serve = await startServeProcess({ ...env, TMPDIR: spoolDir }, ['--admin-port', '0']);
    const line = JSON.parse(await serve.waitForLine(/"listening"/)) as { admin: string; firstAdminKey: string };
    admin = line.admin;
    key = line.firstAdminKey;
    blobs = await createBlobStore(blobsLocation);
  }, 90_000);

  afterAll(async () => {
    await serve?.stop();
    await blobs?.close();
    await azurite?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const stored = () => blobs.list('fwupgrades');
  /** Staged writes the filesystem driver abandoned must be gone too. */
  const staged = async () => (name === 'filesystem' ? (await readdir(join(blobsLocation, 'fwupgrades', '.tmp')).catch(() => [])).length : 0);

  it(`stores a ${big / MB} MB upload verified, without buffering or spooling it`, async () => {
    const { sha256, signature } = digest(big, 1, signer);
    const pid = serve.child.pid as number;
    const before = await rssMb(pid);
    let peak = before;
    // tsx keeps its cache there; anything else appearing during the upload is a spool.
    const baseline = new Set(await readdir(spoolDir));
    const spooled = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rssMb(pid));
        for (const f of await readdir(spoolDir)) if (!baseline.has(f)) spooled.add(f);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const q = new URLSearchParams({ keyCrc: String(keyCrc), signature, sha256, model: 'linux' });
    const r = await put(admin, key, '9.0.0', q, big, 1);
    sampling = false;
    await sampler;
    expect(r).not.toBe('cut');
    const sent = r as Sent;
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    expect(sent.body).toMatchObject({ package: '9.0.0', size: big, sha256, uploaded: true });
    expect([...spooled]).toEqual([]);
    // The whole upload in memory would add its size (200 MB); a streamed one a few chunks and what the GC has not yet reclaimed.
    expect(peak - before, `RSS ${before.toFixed(0)} MB -> peak ${peak.toFixed(0)} MB`).toBeLessThan((big / MB) * 0.75);
    const info = await blobs.stat('fwupgrades', `sha256-${sha256}`);
    expect(info?.size).toBe(big);
    const read = await blobs.get('fwupgrades', `sha256-${sha256}`);
    const hash = createHash('sha256');
    for await (const chunk of read!.stream as AsyncIterable<Buffer>) hash.update(chunk);
    expect(hash.digest('hex')).toBe(sha256);
  }, 180_000);

  it('stores the same bytes once: a second package with the announced hash reuses the verified blob', async () => {
    const size = 3 * MB;
    const { sha256, signature } = digest(size, 2, signer);
    const q = () => new URLSearchParams({ keyCrc: String(keyCrc), signature, sha256 });
    const first = (await put(admin, key, '9.1.0', q(), size, 2)) as Sent;
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const again = (await put(admin, key, '9.1.1', q(), size, 2)) as Sent;
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body).toMatchObject({ sha256, size, uploaded: false });
  }, 60_000);

  it('refuses a bad signature or a body that is not the hash announced, with nothing stored', async () => {
    const size = 20 * MB;
    const before = await stored();
    const good = digest(size, 3, signer);
    const other = digest(size, 4, signer);
    const badSig = (await put(admin, key, '9.2.0', new URLSearchParams({ keyCrc: String(keyCrc), signature: other.signature }), size, 3)) as Sent;
    expect(badSig.status).toBe(400);
    expect(badSig.body.error?.code).toBe('signature_mismatch');
    const badHash = (await put(admin, key, '9.2.0', new URLSearchParams({ keyCrc: String(keyCrc), signature: good.signature, sha256: other.sha256 }), size, 3)) as Sent;
    expect(badHash.status).toBe(400);
    expect(badHash.body.error?.code).toBe('sha256_mismatch');
    expect(await stored()).toEqual(before);
    expect(await staged()).toBe(0);
    const res = await fetch(`${admin}/firmware/9.2.0`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(404);
  }, 60_000);

  it('leaves nothing when the client disconnects mid-upload', async () => {
    const size = 40 * MB;
    const before = await stored();
    const tmpBefore = await readdir(spoolDir);
    const { sha256, signature } = digest(size, 5, signer);
    for (const q of [new URLSearchParams({ keyCrc: String(keyCrc), signature, sha256 }), new URLSearchParams({ keyCrc: String(keyCrc), signature })]) {
      expect(await put(admin, key, '9.3.0', q, size, 5, 15 * MB)).toBe('cut');
    }
    await until('the abandoned staged writes to be removed', async () => (await staged()) === 0);
    expect(await stored()).toEqual(before);
    const res = await fetch(`${admin}/firmware/9.3.0`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(404);
    expect(await readdir(spoolDir)).toEqual(tmpBefore);
  }, 60_000);
});
