import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/registry/index.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('the SQLite registry file is readable by its owner only', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cups-modes-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates its folder 0700 and the database, -wal and -shm files 0600', async () => {
    const path = join(dir, 'data', 'registry.sqlite');
    const registry = await createRegistry(path);
    try {
      await registry.migrate();
      await registry.createStation({ eui: '0016C001FF10A235' });
      // While open, WAL mode keeps the -wal and -shm files next to it.
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        expect(existsSync(file), file).toBe(true);
        expect(mode(file), file).toBe(0o600);
      }
      expect(mode(join(dir, 'data'))).toBe(0o700);
    } finally {
      await registry.close();
    }
  });

  it('tightens a registry file an older version left readable by everyone', async () => {
    const path = join(dir, 'old', 'registry.sqlite');
    const first = await createRegistry(path);
    await first.migrate();
    await first.close();
    chmodSync(path, 0o644);
    const again = await createRegistry(path);
    try {
      await again.migrate();
      expect(mode(path)).toBe(0o600);
    } finally {
      await again.close();
    }
  });
});
