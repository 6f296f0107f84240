import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bscupsInProcess } from './support/cli-in-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bscups-keys-git-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function gitRepo(name: string, gitignore?: string): Promise<string> {
  const repo = join(dir, name);
  await mkdir(repo);
  execFileSync('git', ['init', '--quiet', repo]);
  if (gitignore !== undefined) await writeFile(join(repo, '.gitignore'), gitignore);
  return repo;
}

describe('keys generate inside a git work tree', () => {
  it('warns on stderr when the private key lands in a repository that does not ignore it', async () => {
    const repo = await gitRepo('plain');
    const r = await bscupsInProcess(['keys', 'generate', '--out', join(repo, 'deploy', 'keys')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: the private key');
    expect(r.stderr).toContain(`inside the git work tree ${repo}`);
    expect(r.stderr).toContain('does NOT ignore it');
    expect(r.stdout).toContain('wrote');
  });

  it('still warns, more mildly, when .gitignore covers it; --json carries the warning as a field', async () => {
    const repo = await gitRepo('ignoring', 'keys/\n');
    const r = await bscupsInProcess(['--json', 'keys', 'generate', '--out', join(repo, 'keys')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { warning?: string };
    expect(result.warning).toContain('git ignores it');
  });

  it('says nothing outside a work tree', async () => {
    const r = await bscupsInProcess(['--json', 'keys', 'generate', '--out', join(dir, 'outside')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).not.toHaveProperty('warning');
  });
});

describe("the project's .gitignore", () => {
  it('covers the data folder and the keys folder the README writes into', async () => {
    const root = new URL('..', import.meta.url).pathname;
    const lines = (await readFile(join(root, '.gitignore'), 'utf8')).split('\n').map((l) => l.trim());
    expect(lines).toEqual(expect.arrayContaining(['data/', '/keys/']));
    for (const path of ['data/registry.sqlite', 'keys/sig-0.pem']) {
      expect(() => execFileSync('git', ['check-ignore', '--quiet', '--no-index', path], { cwd: root }), path).not.toThrow();
    }
    // Only the top-level keys folder: the CLI's own keys commands live in a folder of that name.
    expect(() => execFileSync('git', ['check-ignore', '--quiet', '--no-index', 'src/cli/commands/keys/generate.ts'], { cwd: root })).toThrow();
  });
});
