import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCupsError } from '../src/core/errors.js';
import { createAzureBlobStore, createBlobStore, parseBlobLocation, validateBlobName, validateContainer } from '../src/blobs/index.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bscups-location-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isCupsError(e), `expected a CupsError, got ${String(e)}`).toBe(true);
  return e as unknown as Record<string, unknown>;
}

const CONN = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net';

describe('parseBlobLocation', () => {
  it.each([
    ['./data/blobs', { driver: 'fs', root: './data/blobs' }],
    ['/var/lib/bscups', { driver: 'fs', root: '/var/lib/bscups' }],
    ['file:./data', { driver: 'fs', root: './data' }],
    ['file:///srv/blobs', { driver: 'fs', root: '/srv/blobs' }],
    ['C:\\blobs', { driver: 'fs', root: 'C:\\blobs' }],
    ['memory:', { driver: 'memory' }],
    [CONN, { driver: 'azure', connectionString: CONN }],
    [`azure:${CONN}`, { driver: 'azure', connectionString: CONN }],
    ['UseDevelopmentStorage=true', { driver: 'azure', connectionString: 'UseDevelopmentStorage=true' }],
    ['BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=x', {
      driver: 'azure',
      connectionString: 'BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=1&sig=x',
    }],
    ['https://acct.blob.core.windows.net', { driver: 'azure', url: 'https://acct.blob.core.windows.net' }],
    ['azure:https://acct.blob.core.windows.net/?sig=x', { driver: 'azure', url: 'https://acct.blob.core.windows.net/?sig=x' }],
  ])('%s', (location, expected) => {
    expect(parseBlobLocation(location)).toEqual(expected);
  });

  it.each(['', '   ', 'memory:x', 's3://bucket/x', 'azure:', 'azure:nonsense', 'file:'])('rejects %j and lists the accepted forms', (location) => {
    let error: unknown;
    try {
      parseBlobLocation(location);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'invalid_blob_location', kind: 'invalid_argument' });
    expect((error as Error).message).toMatch(/folder path or file:PATH.*memory:.*connection string.*SAS/);
  });
});

describe('createBlobStore', () => {
  it('opens a folder, creating it and both container folders', async () => {
    for (const location of [path.join(dir, 'plain', 'nested'), `file:${path.join(dir, 'prefixed')}`]) {
      const store = await createBlobStore(location);
      const root = location.replace(/^file:/, '');
      expect((await readdir(root)).sort()).toEqual(['fwupgrades', 'stationcredentials']);
      await store.put('fwupgrades', 'fw.bin', new TextEncoder().encode('firmware'));
      const info = await stat(path.join(root, 'fwupgrades', 'fw.bin'));
      expect(info.size).toBe(8);
      expect(info.mode & 0o777).toBe(0o600);
      await store.ping();
    }
  });

  it('opens an in-memory store', async () => {
    const store = await createBlobStore('memory:');
    await store.put('stationcredentials', 'c.bin', new Uint8Array([1, 2, 3]));
    expect((await store.stat('stationcredentials', 'c.bin'))?.size).toBe(3);
  });

  it('opens Azure stores from connection strings and SAS URLs without contacting the service', async () => {
    for (const location of [CONN, 'azure:UseDevelopmentStorage=true', 'https://acct.blob.core.windows.net/?sv=2024-11-04&ss=b&sig=abc%2Bdef']) {
      const store = await createBlobStore(location);
      expect(typeof store.put).toBe('function');
      await store.close();
    }
  });

  it('refuses an account URL without a SAS token as not supported yet', async () => {
    const e = await rejection(createBlobStore('https://acct.blob.core.windows.net'));
    expect(e).toMatchObject({ code: 'not_supported', kind: 'invalid_argument' });
    expect(e.message).toContain('account URL auth needs a connection string or SAS URL for now');
  });

  it('refuses plain http to a remote host and URLs inside the account', async () => {
    for (const location of ['http://acct.blob.core.windows.net/?sig=x', 'https://acct.blob.core.windows.net/container?sig=x']) {
      expect(await rejection(createBlobStore(location))).toMatchObject({ code: 'invalid_blob_location', kind: 'invalid_argument' });
    }
  });

  it('never echoes an account key from a broken connection string', async () => {
    const e = await rejection(createBlobStore('DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey=TOPSECRETKEY'));
    expect(e).toMatchObject({ code: 'invalid_blob_location', kind: 'invalid_argument' });
    expect(e.message).toContain('DefaultEndpointsProtocol');
    expect(e.message).not.toContain('TOPSECRETKEY');
  });
});

describe('createAzureBlobStore options', () => {
  it.each([
    [{}, /exactly one of connectionString or url/],
    [{ connectionString: CONN, url: 'https://a.blob.core.windows.net/?sig=x' }, /exactly one/],
    [{ connectionString: ' ' }, /empty/],
    [{ connectionString: CONN, containerPrefix: 'Upper-' }, /containerPrefix "Upper-"/],
    [{ connectionString: CONN, containerPrefix: 'a--' }, /single hyphens/],
    [{ connectionString: CONN, containerPrefix: 'x'.repeat(46) }, /at most 45/],
  ])('rejects %j', async (options, message) => {
    const e = await rejection(createAzureBlobStore(options));
    expect(e).toMatchObject({ code: 'invalid_blob_options', kind: 'invalid_argument' });
    expect(e.message).toMatch(message);
  });

  it('accepts a prefix that fills the container name to 63 characters', async () => {
    await expect(createAzureBlobStore({ connectionString: CONN, containerPrefix: 'x'.repeat(45) })).resolves.toBeDefined();
  });
});

describe('name and container validation', () => {
  it('returns valid names and rejects the rest naming them', () => {
    expect(validateBlobName('Fw_1.2-3.bin')).toBe('Fw_1.2-3.bin');
    expect(() => validateBlobName('../etc/passwd')).toThrow(/blob name "..\/etc\/passwd" is invalid/);
    expect(() => validateBlobName('a\0b')).toThrow(/"a\\u0000b"/);
    expect(() => validateBlobName('y'.repeat(5000))).toThrow(/5000 characters/);
    expect(validateContainer('fwupgrades')).toBe('fwupgrades');
    expect(() => validateContainer('secrets')).toThrow(expect.objectContaining({ code: 'invalid_container' }));
  });
});

describe('lazy Azure SDK', () => {
  it('loads @azure/storage-blob only when an Azure store is opened', async () => {
    // A resolve hook that refuses the SDK: the fs and memory paths must not notice it; the Azure path must.
    const hook = `export async function resolve(s, c, next) {
      if (s === '@azure/storage-blob' || s.startsWith('@azure/storage-blob/')) throw new Error('SDK_LOADED');
      return next(s, c);
    }`;
    const index = pathToFileURL(path.resolve('src/blobs/index.ts')).href;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const blobs = await import(${JSON.stringify(index)});
      const fs = await blobs.createBlobStore(${JSON.stringify(path.join(dir, 'lazy'))});
      await fs.put('fwupgrades', 'x.bin', new Uint8Array([1]));
      await blobs.createBlobStore('memory:');
      let azure = 'opened';
      try { await blobs.createBlobStore('UseDevelopmentStorage=true'); }
      catch (e) { azure = e.code + ':' + (e.cause?.message ?? ''); }
      console.log(JSON.stringify({ fs: (await fs.stat('fwupgrades', 'x.bin')).size, azure }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toEqual({ fs: 1, azure: 'blobs_driver_missing:SDK_LOADED' });
  });
});
