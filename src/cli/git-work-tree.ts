import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The top of the git work tree holding `path` (a `.git` folder, or file for worktrees and submodules), or undefined. */
export async function gitWorkTreeOf(path: string): Promise<string | undefined> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (await exists(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Whether git would ignore `file`; undefined when git cannot say (not installed, not a repository git knows). */
export function gitIgnores(file: string, workTree: string): Promise<boolean | undefined> {
  return new Promise((done) => {
    execFile('git', ['check-ignore', '--quiet', '--no-index', resolve(file)], { cwd: workTree }, (error) => {
      if (error === null) done(true);
      else done(error.code === 1 ? false : undefined);
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    // Unreadable counts as absent: this only decides whether to warn.
    return false;
  }
}
