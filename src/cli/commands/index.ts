import type { Command } from 'commander';
import { register as serve } from './serve.js';
import { register as station } from './station/index.js';
import { register as keys } from './keys/index.js';
import { register as firmware } from './firmware/index.js';
import { register as simulate } from './simulate.js';
import { register as pki } from './pki/index.js';
import { register as status } from './status.js';
import { register as apikey } from './apikey/index.js';
import { register as webhook } from './webhook/index.js';
import { register as audit } from './audit.js';
import { register as rollout } from './rollout/index.js';
import { register as blobs } from './blobs/index.js';

/** Every command group, in help order. */
export function registerCommands(program: Command): void {
  for (const r of [serve, status, station, pki, keys, firmware, rollout, blobs, apikey, audit, simulate, webhook]) r(program);
}
