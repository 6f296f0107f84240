import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CupsError } from '../src/core/errors.js';
import { createRegistry } from '../src/registry/index.js';

const EUI = '0016C001FF10A235';

describe('station registry on SQLite: files and pragmas', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cups-sqlite-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates missing parent directories and leaves the file in WAL mode', async () => {
    const path = join(dir, 'a/b/c/registry.db');
    const registry = await createRegistry(`sqlite:${path}`);
    try {
      await registry.migrate();
      await registry.createStation({ eui: EUI });
    } finally {
      await registry.close();
    }
    expect(existsSync(path)).toBe(true);
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('select eui from stations').all()).toEqual([{ eui: EUI }]);
    } finally {
      raw.close();
    }
  });

  it('opens the same file through every accepted SQLite URL form', async () => {
    const path = join(dir, 'forms/registry.db');
    const forms = [`sqlite:${path}`, `sqlite://${path}`, `file:${path}`, pathToFileURL(path).toString(), path, relative(process.cwd(), path)];
    const first = await createRegistry(forms[0] as string);
    await first.migrate();
    await first.createStation({ eui: EUI, name: 'shared' });
    await first.close();
    for (const form of forms) {
      const registry = await createRegistry(form);
      try {
        expect((await registry.getStation(EUI))?.name, form).toBe('shared');
      } finally {
        await registry.close();
      }
    }
  });

  it('says the schema is missing when migrate() was not called', async () => {
    const registry = await createRegistry(':memory:');
    try {
      const error = await registry.getStation(EUI).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CupsError);
      expect(error).toMatchObject({ kind: 'unavailable', code: 'registry_not_migrated' });
      expect((error as Error).message).toMatch(/migrations/);
    } finally {
      await registry.close();
    }
  });

  it('throws unavailable, naming the path, when the directory cannot be created', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'not a directory');
    const error = await createRegistry(join(file, 'sub/registry.db')).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'registry_unavailable' });
    expect((error as Error).message).toContain(file);
  });

  it('says the file is not a SQLite database, rather than asking whether a database is running', async () => {
    const file = join(dir, 'garbage.db');
    writeFileSync(file, Buffer.alloc(4096, 0x41));
    const registry = await createRegistry(file);
    try {
      const error = await registry.ping().catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'unavailable', code: 'registry_not_sqlite' });
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toContain('is not a SQLite database');
      expect((error as Error).message).not.toContain('running');
    } finally {
      await registry.close();
    }
  });
});
