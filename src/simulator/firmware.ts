import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { verifyWithStationKeys, type StationVerifyOutcome } from '../signing/index.js';
import { readSigKeyFiles } from './home.js';

/** Bytes of stdout/stderr kept from an update run. */
const OUTPUT_TAIL_BYTES = 4096;

/** What happened to an update the server sent. */
export interface UpdateReport {
  /** The station's decision (PROTOCOL 5.4). */
  readonly outcome: StationVerifyOutcome;
  /** Index N of the sig-N.key that verified; only with `verified`. */
  readonly keyIndex?: number;
  /** True when update.bin was started. */
  readonly ran: boolean;
  /** Exit code of `sh update.bin`; null when it did not run, was not awaited, or died from a signal. */
  readonly exitCode: number | null;
  /** Hex SHA-256 of the update bytes, to compare with what the server stored. */
  readonly sha256: string;
  readonly size: number;
  /** Last bytes the update script wrote to stdout (empty when not awaited). */
  readonly stdout: string;
  /** Last bytes the update script wrote to stderr. */
  readonly stderr: string;
}

/** How to install an update. */
export interface InstallUpdateOptions {
  readonly home: string;
  readonly update: Buffer;
  readonly signature: Buffer | null;
  readonly keyCrc: number | null;
  /** Wait for the script to exit (the real station detaches it). */
  readonly wait: boolean;
  readonly log: (line: string) => void;
}

/**
 * Handles an update as the station does (cups.c, sys_linux.c): the bytes go to
 * update.bi_, which is renamed update.bin once complete; then the signature is checked
 * against every sig-N.key; a verified or legitimately unsigned update runs, any other
 * is deleted. The station keeps the file in /tmp; the simulator keeps it in a folder of its
 * own per station (updateFolder), so that several simulated stations never share one file.
 * Like the station's, the update runs there, not in the home: only STATION_HOME names the
 * home, so an update that writes a relative version.txt never confirms (PROTOCOL.md 8.5).
 */
export async function installUpdate(opts: InstallUpdateOptions): Promise<UpdateReport> {
  const { home, update, signature, log } = opts;
  const folder = updateFolder(home);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const partial = join(folder, 'update.bi_');
  const final = join(folder, 'update.bin');
  await writeFile(partial, update, { mode: 0o750 });
  await rename(partial, final);
  log(`Update received (${update.length} bytes)`);
  const sha256 = createHash('sha256').update(update).digest('hex');
  if (signature !== null) {
    log(`CUPS provided signature len=${signature.length} keycrc=${(opts.keyCrc ?? 0).toString(16).toUpperCase().padStart(8, '0')}`);
  }

  const keyFiles = await readSigKeyFiles(home);
  const verdict = await verifyWithStationKeys(update, signature, keyFiles);
  const base = { outcome: verdict.outcome, ...(verdict.keyIndex !== undefined ? { keyIndex: verdict.keyIndex } : {}), sha256, size: update.length };
  log(verdictLine(verdict.outcome, verdict.keyIndex, keyFiles.length));

  if (verdict.outcome !== 'verified' && verdict.outcome !== 'unsigned-run') {
    log('Aborting update.');
    await rm(final, { force: true });
    return { ...base, ran: false, exitCode: null, stdout: '', stderr: '' };
  }
  log('Running update.bin as background process');
  const run = await runUpdate(home, opts.wait);
  if (opts.wait) log(`update.bin exited with ${run.exitCode === null ? 'a signal' : `code ${run.exitCode}`}`);
  return { ...base, ran: true, ...run };
}

function verdictLine(outcome: StationVerifyOutcome, keyIndex: number | undefined, keyCount: number): string {
  switch (outcome) {
    case 'verified':
      return `ECDSA key#${keyIndex ?? '?'} -> VERIFIED`;
    case 'unsigned-run':
      return 'No Key. No Sig. UPDATE.';
    case 'no-signature-abort':
      return 'Keyfile present, but no signature provided. Aborting update.';
    case 'bad-signature':
      return `No key could verify signature. Tried ${keyCount} keys`;
  }
}

/**
 * The simulator's stand-in for the station's /tmp: where update.bin is written and run,
 * one per station home, and never the home itself (a hidden folder beside its files).
 */
export function updateFolder(home: string): string {
  return join(resolve(home), '.station-tmp');
}

/**
 * At every start the station runs a leftover update.bin again (PROTOCOL.md 8.5): an update
 * that does not remove itself runs at each restart. True when there was one to run.
 */
export async function rerunLeftoverUpdate(home: string, wait: boolean, log: (line: string) => void): Promise<boolean> {
  try {
    await access(join(updateFolder(home), 'update.bin'));
  } catch {
    return false;
  }
  log('Found a leftover update.bin: running it again');
  const run = await runUpdate(home, wait);
  if (wait) log(`update.bin exited with ${run.exitCode === null ? 'a signal' : `code ${run.exitCode}`}`);
  return true;
}

/**
 * Starts `sh /…/update.bin` with STATION_HOME set, as the station does: its working
 * folder is the update folder, not the home, and $0 is the file's absolute path (so
 * `rm -f "$0"` removes it).
 */
function runUpdate(home: string, wait: boolean): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', STATION_HOME: resolve(home) };
  const cwd = updateFolder(home);
  const file = join(cwd, 'update.bin');
  if (!wait) {
    const child = spawn('sh', [file], { cwd, env, detached: true, stdio: 'ignore' });
    child.unref();
    return Promise.resolve({ exitCode: null, stdout: '', stderr: '' });
  }
  return new Promise((done, failed) => {
    const child = spawn('sh', [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = tail();
    const stderr = tail();
    child.stdout.on('data', stdout.add);
    child.stderr.on('data', stderr.add);
    child.on('error', failed);
    child.on('close', (code) => done({ exitCode: code, stdout: stdout.text(), stderr: stderr.text() }));
  });
}

/** Keeps only the last OUTPUT_TAIL_BYTES of a stream. */
function tail(): { add: (chunk: Buffer) => void; text: () => string } {
  let kept = Buffer.alloc(0);
  return {
    add: (chunk) => {
      kept = Buffer.concat([kept, chunk]);
      if (kept.length > OUTPUT_TAIL_BYTES) kept = kept.subarray(kept.length - OUTPUT_TAIL_BYTES);
    },
    text: () => kept.toString('utf8'),
  };
}
