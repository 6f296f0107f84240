import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { withRuntime, type Runtime } from '../runtime.js';
import { createOutput, type Output } from './output.js';

export interface GlobalOptions {
  readonly database?: string;
  readonly blobs?: string;
  readonly json?: boolean;
  readonly logLevel?: string;
}

/** Config and output for a command, from the global flags (flags over env over defaults). */
export function commandContext(cmd: Command): { config: Config; out: Output } {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const config = loadConfig({ database: g.database, blobs: g.blobs, logLevel: g.logLevel });
  return { config, out: createOutput(g.json === true) };
}

/** Runs a command body with the registry open and the blob store opened on first use, closing them after. */
export async function runWithRuntime(cmd: Command, fn: (rt: Runtime, out: Output) => Promise<void>): Promise<void> {
  const { config, out } = commandContext(cmd);
  await withRuntime(config, (rt) => fn(rt, out), { lazyBlobs: true });
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
