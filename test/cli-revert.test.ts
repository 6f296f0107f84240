import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bscupsInProcess, bscupsJson } from './support/cli-in-process.js';

// The CLI flags of automatic revert, in process on a registry of their own:
// the default per change, turning it off, the refusals, and how show prints it.

let dir: string;
let env: Record<string, string>;
const A = '0016C001FF10C001';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-cli-revert-'));
  env = { BSCUPS_DATABASE: join(dir, 'registry.sqlite'), BSCUPS_BLOBS: join(dir, 'blobs') };
  await bscupsJson(['station', 'add', A, '--tc-uri', 'wss://lns.example.com:6887'], env);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('--revert-unhealthy on the command line', () => {
  it('rollout create: on by default for a TC URI, --no-revert-unhealthy turns it off, refused for a CUPS URI', async () => {
    const on = await bscupsJson<{ id: string; plan: { revertUnhealthy: boolean } }>(['rollout', 'create', '--tc-uri', 'wss://lns2.example.com:6887', '--station', A], env);
    expect(on.plan.revertUnhealthy).toBe(true);
    const shown = await bscupsInProcess(['rollout', 'show', on.id], env);
    expect(shown.stdout).toMatch(/^reverts {2}on: a station that fails gets back what it had before at its next exchange$/m);
    await bscupsInProcess(['rollout', 'abort', on.id], env);
    const off = await bscupsJson<{ id: string; plan: { revertUnhealthy: boolean } }>(['rollout', 'create', '--tc-uri', 'wss://lns2.example.com:6887', '--station', A, '--no-revert-unhealthy'], env);
    expect(off.plan.revertUnhealthy).toBe(false);
    expect((await bscupsInProcess(['rollout', 'show', off.id], env)).stdout).not.toMatch(/^reverts/m);
    await bscupsInProcess(['rollout', 'abort', off.id], env);
    const refused = await bscupsInProcess(['rollout', 'create', '--cups-uri', 'https://cups2.example.com:443', '--station', A, '--revert-unhealthy'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--revert-unhealthy cannot undo a CUPS URI .* rollout: a station given a CUPS URI it cannot reach never calls this server again/);
  });

  it('station set: --revert-unhealthy needs --tc-uri; with it the change is recorded as guarded', async () => {
    const alone = await bscupsInProcess(['station', 'set', A, '--name', 'x', '--revert-unhealthy'], env);
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toMatch(/--revert-unhealthy guards a TC URI change/);
    const set = await bscupsInProcess(['station', 'set', A, '--tc-uri', 'wss://lns3.example.com:6887', '--revert-unhealthy'], env);
    expect(set.code, set.stderr).toBe(0);
    const shown = await bscupsJson<{ events: { type: string; message: string }[] }>(['station', 'show', A], env);
    expect(shown.events.find((e) => e.type === 'config')?.message).toMatch(/^desired tcUri=wss:\/\/lns3\.example\.com:6887 \(--revert-unhealthy: the previous TC URI is put back if its health turns lns_failing with this one\)$/);
    const audit = await bscupsJson<{ action: string; detail: Record<string, unknown> }[]>(['audit', '--action', 'station.update', '--target', A], env);
    expect(audit[0]?.detail).toMatchObject({ tcUri: 'wss://lns3.example.com:6887', revertUnhealthy: true });
  });
});
