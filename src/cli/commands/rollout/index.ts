import type { Command } from 'commander';
import { register as create } from './create.js';
import { register as list } from './list.js';
import { register as show } from './show.js';
import { register as members } from './members.js';
import { register as control } from './control.js';
import { register as rollback } from './rollback.js';
import { register as retry } from './retry.js';

export function register(program: Command): void {
  const rollout = program
    .command('rollout')
    .description('staged fleet changes (firmware, TC URI, CUPS URI) in waves with health gates; every bscups serve advances them');
  for (const r of [create, list, show, members, control, retry, rollback]) r(rollout);
}
