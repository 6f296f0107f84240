import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
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
 * is deleted. The station keeps the file in /tmp; the simulator keeps it in its home so
 * that several simulated stations never share one file.
 */
export async function installUpdate(opts: InstallUpdateOptions): Promise<UpdateReport> {
  const { home, update, signature, log } = opts;
  const partial = join(home, 'update.bi_');
  const final = join(home, 'update.bin');
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

/** Starts `sh update.bin` in the home folder with STATION_HOME set, as an update script expects. */
function runUpdate(home: string, wait: boolean): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', STATION_HOME: resolve(home) };
  if (!wait) {
    const child = spawn('sh', ['update.bin'], { cwd: home, env, detached: true, stdio: 'ignore' });
    child.unref();
    return Promise.resolve({ exitCode: null, stdout: '', stderr: '' });
  }
  return new Promise((done, failed) => {
    const child = spawn('sh', ['update.bin'], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
