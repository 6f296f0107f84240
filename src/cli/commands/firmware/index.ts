import type { Command } from 'commander';
import { register as retry } from './retry.js';
import { register as sign } from './sign.js';
import { register as status } from './status.js';
import { register as upgrade } from './upgrade.js';
import { register as upload } from './upload.js';
import { register as list } from './list.js';
import { register as show } from './show.js';
import { register as remove } from './remove.js';

export function register(program: Command): void {
  const firmware = program.command('firmware').description('signed firmware upgrades: sign, the library (upload, list, show, remove), target, track, retry');
  for (const r of [sign, upload, list, show, remove, upgrade, status, retry]) r(firmware);
}
