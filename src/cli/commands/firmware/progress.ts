import cliProgress from 'cli-progress';
import type { Output } from '../../output.js';

/** Runs an upload with a progress bar on a terminal (stderr), none for scripts or --json. */
export async function withProgress<T>(out: Output, size: number, fn: (onProgress: ((bytes: number) => void) | undefined) => Promise<T>): Promise<T> {
  if (out.json || process.stderr.isTTY !== true) return fn(undefined);
  const bar = new cliProgress.SingleBar({ format: 'uploading [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(size, 0);
  try {
    return await fn((n) => bar.update(n));
  } finally {
    bar.stop();
  }
}
