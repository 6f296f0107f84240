import type { Command } from 'commander';
import { register as add } from './add.js';
import { register as crc } from './crc.js';
import { register as generate } from './generate.js';
import { register as list } from './list.js';
import { register as remove } from './remove.js';

export function register(program: Command): void {
  const keys = program.command('keys').description('firmware signing keys: generate, CRC, register with the server, remove');
  for (const r of [generate, crc, add, list, remove]) r(keys);
}
