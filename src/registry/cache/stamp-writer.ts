import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { CompiledQuery, type Kysely } from 'kysely';
import type { RegistryDatabase } from '../db-schema.js';
import type { SqlFlavour } from '../migrations.js';

/** Writes last-seen stamps; LastSeenBatch hands it at most 1,024 rows at a time. */
export interface StampWriter {
  /**
   * Writes the rows, given flat as (eui, epoch milliseconds, remote address)
   * triples; a row never moves a station's last-seen backwards, so rows of a
   * failed write that were committed after all can be written again safely.
   */
  write(values: readonly unknown[]): Promise<void>;
  /** Releases what the writer holds; pending writes are finished first by the caller. */
  close(): Promise<void>;
}

/**
 * Writes stamps through the registry's own connection, one statement per call:
 * PostgreSQL (the work happens in the database server) and SQLite :memory:
 * (which no other connection can open).
 */
export function kyselyStampWriter(db: Kysely<RegistryDatabase>, flavour: SqlFlavour): StampWriter {
  return {
    async write(values) {
      const rows = values.length / 3;
      if (rows === 0) return;
      const shape = padded(rows);
      const params = [...values];
      // The last row repeated up to the shape: it updates the same station to the same values.
      for (let extra = rows; extra < shape; extra++) params.push(...values.slice(values.length - 3));
      await db.executeQuery(CompiledQuery.raw(stampStatement(flavour, shape), params));
    },
    close: () => Promise.resolve(),
  };
}

/**
 * The row count rounded up to the next power of two: the statement text then
 * takes one of 11 shapes instead of one per batch size, so SQLite's kept
 * statements (sqlite-statement-cache.ts) are not flushed out by stamps.
 */
function padded(rows: number): number {
  let size = 1;
  while (size < rows) size *= 2;
  return size;
}

/** The statement text per flavour and row count: built once per shape, not compiled per flush. */
const statements = new Map<string, string>();

function stampStatement(flavour: SqlFlavour, rows: number): string {
  const key = `${flavour} ${rows}`;
  let text = statements.get(key);
  if (text === undefined) {
    let n = 0;
    const p = (): string => (flavour === 'postgres' ? `$${++n}` : '?');
    // Casts give PostgreSQL the parameter types; SQLite takes them as affinities.
    const values = Array.from({ length: rows }, () => `(${p()}, cast(${p()} as bigint), cast(${p()} as text))`).join(', ');
    text =
      `with seen (eui, at, addr) as (values ${values}) ` +
      'update stations set last_seen_at = seen.at, last_remote_address = seen.addr from seen ' +
      'where stations.eui = seen.eui and (stations.last_seen_at is null or stations.last_seen_at < seen.at)';
    statements.set(key, text);
  }
  return text;
}

/** The SQLite writer thread: its own connection, one transaction per message. Plain CommonJS, run with eval. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.addon);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
// Without WAL a writer here would block the server's readers: fail before the first answer, so the server writes instead.
if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') throw new Error('the registry is not in WAL mode');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('synchronous = NORMAL');
const ROWS_PER_TRANSACTION = 256;
let write;
parentPort.on('message', ({ id, values }) => {
  try {
    // Prepared at the first write, inside the try: a schema problem is that write's error, not the thread's end.
    if (write === undefined) {
      const stamp = db.prepare('update stations set last_seen_at = cast(? as integer), last_remote_address = ? where eui = ? and (last_seen_at is null or last_seen_at < ?)');
      write = db.transaction((values) => {
        for (let i = 0; i < values.length; i += 3) stamp.run(values[i + 1], values[i + 2], values[i], values[i + 1]);
      });
    }
    // Short transactions: the server's own connection waits for this lock on its event loop.
    for (let i = 0; i < values.length; i += 3 * ROWS_PER_TRANSACTION) write(values.slice(i, i + 3 * ROWS_PER_TRANSACTION));
    parentPort.postMessage({ id });
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.message) || e), code: e && e.code });
  }
});
`;

/**
 * Writes SQLite stamps on a thread of their own, with its own connection to
 * the registry file. better-sqlite3 runs a statement on the calling thread:
 * on the server's, a flush of 10,000 stamps (and the checkpoint that may
 * follow it) held every station's answer for tens of milliseconds each
 * interval. A thread that fails before its first answer (the native module
 * cannot load there, the file is not in WAL mode) is not tried again:
 * `fallback` writes from then on, and after close().
 */
export function sqliteThreadStampWriter(path: string, busyTimeoutMs: number, fallback: StampWriter): StampWriter {
  const addon = createRequire(import.meta.url).resolve('better-sqlite3');
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let worker: Worker | undefined;
  let next = 0;
  let broken = false;
  let closed = false;

  const spawn = (): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { addon, path, busyTimeoutMs } });
    let answered = false;
    w.on('message', (m: { id: number; error?: string; code?: string }) => {
      answered = true;
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if (waiting.size === 0) w.unref();
      if (m.error === undefined) p?.resolve();
      else p?.reject(Object.assign(new Error(m.error), { code: m.code }));
    });
    const failed = (e: Error): void => {
      if (worker === w) worker = undefined;
      if (!answered) broken = true;
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    };
    w.on('error', (e: Error) => failed(new Error(`the last-seen writer thread failed: ${e.message || String(e)}`, { cause: e })));
    w.on('exit', (code) => failed(new Error(`the last-seen writer thread exited (code ${code})`)));
    // After the listeners (a message listener refs the thread again): an idle thread never keeps the process alive;
    // a thread with a write under way does, so a flush at shutdown is not cut off by the process exiting.
    w.unref();
    return w;
  };

  return {
    write(values) {
      if (broken || closed) return fallback.write(values);
      if (values.length === 0) return Promise.resolve();
      const w = (worker ??= spawn());
      const id = ++next;
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.ref();
        w.postMessage({ id, values });
      });
    },
    async close() {
      closed = true;
      const w = worker;
      worker = undefined;
      if (w !== undefined) await w.terminate();
      await fallback.close();
    },
  };
}
