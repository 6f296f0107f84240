import type { Command } from 'commander';
import { register as gc } from './gc.js';

export function register(program: Command): void {
  const blobs = program.command('blobs').description('the blob store: find and remove stored files nothing uses');
  gc(blobs);
}
