import type { ChildOptions } from './child-server.js';

/** Options every benchmark receives from run.ts. */
export interface BenchSettings {
  /** The compiled server child every server runs from. */
  readonly childEntry: string;
  /** Smaller counts and shorter runs, for a quick check. */
  readonly quick: boolean;
  /** Write V8 CPU profiles of the product's server children into this folder. */
  readonly cpuProfDir?: string;
  /** Progress lines go here (stderr), so stdout carries only the tables. */
  readonly log: (line: string) => void;
}

/** How to start a server child; only the product's servers are profiled. */
export function childOptions(settings: BenchSettings, product: boolean): ChildOptions {
  return { entry: settings.childEntry, ...(product && settings.cpuProfDir !== undefined ? { cpuProfDir: settings.cpuProfDir } : {}) };
}
