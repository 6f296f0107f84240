import type { Command } from 'commander';
import { register as add } from './add.js';
import { register as credentials } from './credentials.js';
import { register as list } from './list.js';
import { register as remove } from './remove.js';
import { register as set } from './set.js';
import { register as show } from './show.js';
import { register as unknown } from './unknown.js';

export function register(program: Command): void {
  const station = program.command('station').description('register stations and set what they should use');
  for (const r of [add, list, show, set, credentials, remove, unknown]) r(station);
}
