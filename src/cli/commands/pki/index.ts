import type { Command } from 'commander';
import { register as init } from './init.js';

export function register(program: Command): void {
  const pki = program.command('pki').description('the built-in PKI: a station CA and the server certificate stations verify');
  for (const r of [init]) r(pki);
}
