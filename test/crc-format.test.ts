import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCrc, parseCrc } from '../src/core/crc-format.js';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';

// Issue 17.10: CRCs were decimal in the CLI, hex in the dashboard and in the station's log
// (`keycrc=1E02AED9`). Printed one way everywhere, 0x and 8 upper-case hex digits; read in both forms.

describe('one CRC form', () => {
  it('formats as the station logs it and reads hex and decimal', () => {
    expect(formatCrc(0x1e02aed9)).toBe('0x1E02AED9');
    expect(formatCrc(0xbc)).toBe('0x000000BC');
    for (const t of ['0x1E02AED9', '0x1e02aed9', '1E02AED9', '503492313']) expect(parseCrc(t, '--key-crc')).toBe(0x1e02aed9);
    for (const t of ['', 'abc xyz', '0x123456789', '4294967296', '-1', '1.5']) expect(() => parseCrc(t, '--key-crc')).toThrow(/--key-crc must be a CRC-32 as hex \(0x1E02AED9/);
  });
});

describe('the CLI prints hex and takes both', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bscups-crc-'));
    env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('keys generate / crc / list / remove', async () => {
    const generated = await bscupsJson<{ crc: number }>(['keys', 'generate', '--out', join(dir, 'keys')], env, dir);
    const hex = formatCrc(generated.crc);
    const human = await bscupsInProcess(['keys', 'crc', join(dir, 'keys', 'sig-0.key')], env, dir);
    expect(human.stdout.trim()).toBe(hex);
    // JSON keeps the number, for scripts.
    expect(await bscupsJson(['keys', 'crc', join(dir, 'keys', 'sig-0.key')], env, dir)).toMatchObject({ crc: generated.crc });
    expect((await bscupsInProcess(['keys', 'add', join(dir, 'keys', 'sig-0.key')], env, dir)).stdout).toContain(`registered signing key ${hex}`);
    expect((await bscupsInProcess(['keys', 'list'], env, dir)).stdout).toContain(hex);
    const removed = await bscupsInProcess(['keys', 'remove', hex.toLowerCase()], env, dir);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`removed signing key ${hex}`);
    expect((await bscupsInProcess(['keys', 'add', join(dir, 'keys', 'sig-0.key')], env, dir)).code).toBe(0);
    expect((await bscupsInProcess(['keys', 'remove', String(generated.crc)], env, dir)).code).toBe(0);
  });
});
