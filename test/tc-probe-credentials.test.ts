import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTc } from '../src/simulator/tc-probe.js';
import { bscupsJson } from './support/cli-in-process.js';
import { startTlsLns, type TlsLns } from './support/tls-lns.js';

// The simulator's TC attempt over wss uses the station's tc.* files as the station
// does (PROTOCOL.md 4): the LNS certificate is checked against tc.trust, and a token
// in tc.key goes as header lines on the WebSocket upgrade. An LNS that refuses the
// credential, or a certificate the trust does not verify, is a refused attempt (the
// 450 s beat); the right token is a working link.

let work: string;
let lns: TlsLns;
let trust: Buffer;
let otherTrust: Buffer;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'bscups-tc-probe-'));
  await bscupsJson(['pki', 'init', '--dir', join(work, 'pki'), '--server-name', '127.0.0.1']);
  await bscupsJson(['pki', 'init', '--dir', join(work, 'other'), '--server-name', '127.0.0.1']);
  const pki = join(work, 'pki');
  lns = await startTlsLns({ cert: join(pki, 'server.pem'), key: join(pki, 'server.key'), ca: join(pki, 'ca.pem') }, (_fp, _ok, headers) => headers.authorization === 'Bearer tc-s3cr3t');
  trust = await readFile(join(pki, 'ca.pem'));
  otherTrust = await readFile(join(work, 'other', 'ca.pem'));
}, 60_000);

afterAll(async () => {
  await lns.close();
  await rm(work, { recursive: true, force: true });
});

describe('TC probe with the station credentials', () => {
  it('sends the token of tc.key as header lines over wss: the right one connects, another is refused on the upgrade', async () => {
    const refusedBefore = lns.refused.length;
    expect(await probeTc(lns.uri, 5_000, '1', { trust, cert: null, key: Buffer.from('Authorization: Bearer tc-s3cr3t\r\n') })).toBe('connected');
    expect(await probeTc(lns.uri, 5_000, '1', { trust, cert: null, key: Buffer.from('Authorization: Bearer rotated\r\n') })).toBe('refused');
    expect(lns.refused.slice(refusedBefore)).toEqual(['Bearer rotated']);
  });

  it('checks the LNS certificate against tc.trust: a trust that does not verify it fails the attempt before any request', async () => {
    const refusedBefore = lns.refused.length;
    expect(await probeTc(lns.uri, 5_000, '1', { trust: otherTrust, cert: null, key: Buffer.from('Authorization: Bearer tc-s3cr3t\r\n') })).toBe('refused');
    expect(lns.refused.length).toBe(refusedBefore);
  });

  it('a wss URI without tc.trust is refused, as the station makes no TLS connection without it', async () => {
    const refusedBefore = lns.refused.length;
    expect(await probeTc(lns.uri, 5_000, '1', { trust: null, cert: null, key: Buffer.from('Authorization: Bearer tc-s3cr3t\r\n') })).toBe('refused');
    expect(await probeTc(lns.uri, 5_000, '1')).toBe('refused');
    expect(lns.refused.length).toBe(refusedBefore);
  });
});
