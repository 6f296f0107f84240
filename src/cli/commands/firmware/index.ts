import type { Command } from 'commander';
import { register as retry } from './retry.js';
import { register as sign } from './sign.js';
import { register as status } from './status.js';
import { register as upgrade } from './upgrade.js';

export function register(program: Command): void {
  const firmware = program.command('firmware').description('signed firmware upgrades: sign, upload and target, track, retry');
  for (const r of [sign, upgrade, status, retry]) r(firmware);
}
