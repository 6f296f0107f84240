import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { invalid } from '../core/errors.js';

/**
 * File descriptors kept out of both connection caps: the database (SQLite's
 * files or PostgreSQL's pool), the blob store, certificate watchers, logs and
 * Node's own (the event loop, worker threads, stdio).
 */
export const FD_RESERVE = 128;

/**
 * Each connection may hold a second descriptor while it is served: the blob
 * file a firmware download streams from, or the one an upload streams into.
 */
export const FDS_PER_CONNECTION = 2;

/**
 * The process's soft limit on open files (what `ulimit -n` shows; Node raises
 * it to the hard limit at start), or undefined when it cannot be read or is
 * unlimited. Linux has it in /proc; elsewhere a shell started from this
 * process inherits the limit and prints it.
 */
export function readOpenFileLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line !== null) return finite(line[1]);
  } catch {
    // Not Linux: ask a shell.
  }
  try {
    return finite(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return undefined;
  }
}

function finite(text: string | undefined): number | undefined {
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The two caps asked for, and whether each was given (flag or env) or is the default. */
export interface CapsWanted {
  readonly station: number;
  readonly admin: number;
  readonly stationGiven: boolean;
  readonly adminGiven: boolean;
}

/** The caps the server runs with; `lowered` names what was brought down to fit, for a warning. */
export interface CapsFitted {
  readonly station: number;
  readonly admin: number;
  readonly lowered: readonly string[];
}

/**
 * Fits both listeners' connection caps into the open-file limit so neither
 * can starve the other (or the database) of descriptors:
 * FDS_PER_CONNECTION × (station + admin) + FD_RESERVE ≤ limit, with the admin
 * cap at most an eighth of what is there. A default that does not fit is
 * lowered (and said so); a value given by flag or env that does not fit
 * refuses the start, naming the limit and how to raise it: a server that
 * quietly takes less than asked would surprise whoever sized it.
 */
export function fitConnectionCaps(wanted: CapsWanted, limit: number | undefined): CapsFitted {
  if (limit === undefined) return { station: wanted.station, admin: wanted.admin, lowered: [] };
  const room = Math.floor((limit - FD_RESERVE) / FDS_PER_CONNECTION);
  const adminRoom = Math.floor(room / 8);
  if (adminRoom < 1) {
    throw invalid('file_limit_too_low', `the open-file limit is ${limit}: too low to serve (it needs more than ${FD_RESERVE + 8 * FDS_PER_CONNECTION}); raise it (ulimit -n, or LimitNOFILE= in a systemd unit)`, {
      key: 'maxConnections',
    });
  }
  const lowered: string[] = [];
  let admin = wanted.admin;
  if (admin > adminRoom) {
    if (wanted.adminGiven) throw tooMany('--admin-max-connections (env BSCUPS_ADMIN_MAX_CONNECTIONS)', admin, adminRoom, limit, 'adminMaxConnections');
    admin = adminRoom;
    lowered.push(`admin connections ${wanted.admin} → ${admin}`);
  }
  let station = wanted.station;
  if (station > room - admin) {
    if (wanted.stationGiven) throw tooMany('--max-connections (env BSCUPS_MAX_CONNECTIONS)', station, room - admin, limit, 'maxConnections');
    station = room - admin;
    lowered.push(`station connections ${wanted.station} → ${station}`);
  }
  return { station, admin, lowered };
}

function tooMany(flag: string, asked: number, fits: number, limit: number, key: string): Error {
  return invalid(
    'connection_cap_over_file_limit',
    `${flag} is ${asked}, but with the open-file limit of ${limit} at most ${fits} fit (each connection may hold ${FDS_PER_CONNECTION} files, ${FD_RESERVE} are kept for the database and the rest, and the admin listener gets at most an eighth): lower it, or raise the limit (ulimit -n, or LimitNOFILE= in a systemd unit)`,
    { key },
  );
}
