import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CupsError } from '../core/errors.js';
import { readFileArg } from './read-file-arg.js';

describe('readFileArg', () => {
  it('returns the bytes of a readable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bscups-arg-'));
    await writeFile(join(dir, 'x'), 'abc');
    expect((await readFileArg(join(dir, 'x'), '--trust')).toString()).toBe('abc');
  });

  it('names the argument, the path and the reason when the file cannot be read', async () => {
    const missing = join(tmpdir(), 'bscups-no-such-file');
    const err = await readFileArg(missing, '--trust').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CupsError);
    expect(err).toMatchObject({ code: 'unreadable_file', kind: 'invalid_argument', details: { field: '--trust' } });
    expect((err as CupsError).message).toBe(`--trust: cannot read ${missing}: ENOENT`);
  });
});
