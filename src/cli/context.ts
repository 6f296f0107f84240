import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { createOutput, type Output } from './output.js';

export interface GlobalOptions {
  readonly database?: string;
  readonly blobs?: string;
  readonly json?: boolean;
  readonly logLevel?: string;
  /** The admin API of a bscups server: the remote mode. */
  readonly server?: string;
  readonly apiKey?: string;
  /** PEM CA that verifies an https:// --server. */
  readonly serverCa?: string;
  /** Send the API key over plain http:// to a host that is not this one. */
  readonly allowHttp?: boolean;
}

/** Config and output for a command, from the global flags (flags over env over defaults). */
export function commandContext(cmd: Command): { config: Config; out: Output } {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const config = loadConfig({ database: g.database, blobs: g.blobs, logLevel: g.logLevel });
  return { config, out: createOutput(g.json === true) };
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
