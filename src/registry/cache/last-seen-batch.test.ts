import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteBackend } from '../sqlite-backend.js';
import type { RegistryBackend } from '../backend.js';
import { BUSY_TIMEOUT_MILLIS } from '../sqlite-backend.js';
import { LastSeenBatch, type Seen } from './last-seen-batch.js';
import { kyselyStampWriter, sqliteThreadStampWriter, type StampWriter } from './stamp-writer.js';

const A = '0016C001FF10A235';
const B = '0016C001FF10A236';
const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

const WRITERS: [string, (backend: RegistryBackend, path: string) => StampWriter][] = [
  ['on the registry connection', (backend) => kyselyStampWriter(backend.db, 'sqlite')],
  ['on a writer thread', (backend, path) => sqliteThreadStampWriter(path, BUSY_TIMEOUT_MILLIS, kyselyStampWriter(backend.db, 'sqlite'))],
];

describe.each(WRITERS)('last-seen batch (SQLite file), written %s', (_name, writer) => {
  let dir: string;
  let backend: RegistryBackend;
  let retired: [string, Seen][];
  let batch: LastSeenBatch;

  const stored = async (eui: string) => {
    const row = await backend.db.selectFrom('stations').select(['last_seen_at', 'last_remote_address']).where('eui', '=', eui).executeTakeFirstOrThrow();
    return { at: row.last_seen_at === null ? null : Number(row.last_seen_at), addr: row.last_remote_address };
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bscups-last-seen-'));
    const path = join(dir, 'r.sqlite');
    backend = openSqliteBackend(path, 'r.sqlite', {});
    await backend.migrate();
    const now = Date.now();
    for (const eui of [A, B]) await sql`insert into stations (eui, labels, created_at, updated_at) values (${eui}, '{}', ${now}, ${now})`.execute(backend.db);
    retired = [];
    batch = new LastSeenBatch(writer(backend, path), (eui, seen) => retired.push([eui, seen]));
  });

  afterEach(async () => {
    await batch.close();
    await backend.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the latest stamp of each station once, never an older one', async () => {
    batch.add(A, { at: T(1), remoteAddress: '192.0.2.1' });
    batch.add(A, { at: T(3), remoteAddress: '192.0.2.3' });
    batch.add(A, { at: T(2), remoteAddress: '192.0.2.2' });
    batch.add(B, { at: T(5), remoteAddress: null });
    expect(batch.size).toBe(2);
    await batch.flush();
    expect(batch.size).toBe(0);
    expect(await stored(A)).toEqual({ at: T(3).getTime(), addr: '192.0.2.3' });
    expect(await stored(B)).toEqual({ at: T(5).getTime(), addr: null });
  });

  it('a stamp taken while a flush runs is written by the next one', async () => {
    batch.add(A, { at: T(1), remoteAddress: '192.0.2.1' });
    const first = batch.flush();
    batch.add(A, { at: T(2), remoteAddress: '192.0.2.2' });
    await first;
    expect(await stored(A)).toEqual({ at: T(1).getTime(), addr: '192.0.2.1' });
    expect(batch.size).toBe(1);
    await batch.flush();
    expect(await stored(A)).toEqual({ at: T(2).getTime(), addr: '192.0.2.2' });
  });

  it('keeps the stamps when the write fails, and writes them at the next flush', async () => {
    batch.add(A, { at: T(1), remoteAddress: '192.0.2.1' });
    await sql`alter table stations rename to stations_away`.execute(backend.db);
    await expect(batch.flush()).rejects.toThrow(/stations/);
    expect(batch.size).toBe(1);
    await sql`alter table stations_away rename to stations`.execute(backend.db);
    await batch.flush();
    expect(batch.size).toBe(0);
    expect(await stored(A)).toEqual({ at: T(1).getTime(), addr: '192.0.2.1' });
  });

  it('shows a written stamp until a whole interval passes without a poll, then hands it over', async () => {
    batch.add(A, { at: T(1), remoteAddress: '192.0.2.1' });
    batch.add(B, { at: T(1), remoteAddress: '192.0.2.9' });
    await batch.flush();
    expect(batch.pending(A)).toEqual({ at: T(1), remoteAddress: '192.0.2.1' });
    expect(retired).toEqual([]);
    // A polls again during the next interval, B does not.
    batch.add(A, { at: T(2), remoteAddress: '192.0.2.1' });
    await batch.flush();
    expect(retired).toEqual([[B, { at: T(1), remoteAddress: '192.0.2.9' }]]);
    expect(batch.pending(B)).toBeUndefined();
    expect(batch.pending(A)).toEqual({ at: T(2), remoteAddress: '192.0.2.1' });
    await batch.flush();
    expect(retired.map(([eui]) => eui)).toEqual([B, A]);
    expect(await stored(A)).toEqual({ at: T(2).getTime(), addr: '192.0.2.1' });
  });

  it('writes more stations than one statement holds', async () => {
    const count = 1_500;
    const now = Date.now();
    const euis = Array.from({ length: count }, (_, i) => `0016C002${i.toString(16).toUpperCase().padStart(8, '0')}`);
    for (const eui of euis) await sql`insert into stations (eui, labels, created_at, updated_at) values (${eui}, '{}', ${now}, ${now})`.execute(backend.db);
    euis.forEach((eui, i) => batch.add(eui, { at: T(i % 60), remoteAddress: `10.0.${i >> 8}.${i & 255}` }));
    await batch.flush();
    for (const i of [0, 1_023, 1_024, count - 1]) expect(await stored(euis[i] as string)).toEqual({ at: T(i % 60).getTime(), addr: `10.0.${i >> 8}.${i & 255}` });
  });
});

describe('last-seen writer thread', () => {
  it('a thread that cannot start fails its first write, and the registry connection writes from then on, as after close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bscups-last-seen-'));
    const backend = openSqliteBackend(join(dir, 'r.sqlite'), 'r.sqlite', {});
    try {
      await backend.migrate();
      const now = Date.now();
      await sql`insert into stations (eui, labels, created_at, updated_at) values (${A}, '{}', ${now}, ${now})`.execute(backend.db);
      const writer = sqliteThreadStampWriter(join(dir, 'missing', 'r.sqlite'), BUSY_TIMEOUT_MILLIS, kyselyStampWriter(backend.db, 'sqlite'));
      await expect(writer.write([A, T(1).getTime(), '192.0.2.1'])).rejects.toThrow(/writer thread failed/);
      await writer.write([A, T(2).getTime(), '192.0.2.2']);
      const row = await backend.db.selectFrom('stations').select(['last_seen_at', 'last_remote_address']).where('eui', '=', A).executeTakeFirstOrThrow();
      expect({ at: Number(row.last_seen_at), addr: row.last_remote_address }).toEqual({ at: T(2).getTime(), addr: '192.0.2.2' });
      await writer.close();
      // After close() no thread is started again: the registry connection writes.
      const closed = sqliteThreadStampWriter(join(dir, 'r.sqlite'), BUSY_TIMEOUT_MILLIS, kyselyStampWriter(backend.db, 'sqlite'));
      await closed.write([A, T(3).getTime(), '192.0.2.3']);
      await closed.close();
      await closed.write([A, T(4).getTime(), '192.0.2.4']);
      const after = await backend.db.selectFrom('stations').select(['last_seen_at']).where('eui', '=', A).executeTakeFirstOrThrow();
      expect(Number(after.last_seen_at)).toBe(T(4).getTime());
    } finally {
      await backend.db.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
