import type { Command } from 'commander';
import { register as add } from './add.js';
import { register as credentials } from './credentials.js';
import { register as list } from './list.js';
import { register as remove } from './remove.js';
import { register as set } from './set.js';
import { register as show } from './show.js';
import { register as unknown } from './unknown.js';
import { register as auth } from './auth.js';
import { register as issueCert } from './issue-cert.js';
import { register as issueToken } from './issue-token.js';
import { register as revoke } from './revoke.js';
import { register as rotate } from './rotate.js';
import { register as importFile } from './import.js';
import { register as exportFile } from './export.js';

export function register(program: Command): void {
  const station = program.command('station').description('register stations and set what they should use');
  for (const r of [add, list, show, set, credentials, auth, issueCert, issueToken, rotate, revoke, remove, unknown, importFile, exportFile]) r(station);
}
