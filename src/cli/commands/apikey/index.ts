import type { Command } from 'commander';
import type { z } from 'zod';
import { invalid } from '../../../core/errors.js';
import { isRole, ROLES } from '../../../core/roles.js';
import type { ApiKey } from '../../../http/admin/schemas.js';
import { runActions } from '../../run-actions.js';
import { at } from '../station/view.js';

function keyRow(k: z.infer<typeof ApiKey>): Record<string, unknown> {
  const state = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'active';
  return { id: k.id, name: k.name, role: k.role, state, created: at(k.createdAt), 'created by': k.createdBy, expires: at(k.expiresAt) };
}

const COLUMNS = ['id', 'name', 'role', 'state', 'created', 'created by', 'expires'];

export function register(program: Command): void {
  const apikey = program.command('apikey').description(`API keys for the admin API (roles: ${ROLES.join(', ')}); stored as hashes`);
  apikey
    .command('create')
    .description('create a key and print it once: only its hash is stored, so copy it now')
    .requiredOption('--name <name>', 'who or what uses the key, e.g. grafana or alice')
    .requiredOption('--role <role>', 'viewer (reads), operator (also changes stations, credentials, firmware, rollouts) or admin (also keys and PKI)')
    .option('--expires <when>', 'a duration from now (90d, 12h) or an ISO 8601 time; default never')
    .action(async (opts: { name: string; role: string; expires?: string }, cmd: Command) => {
      const role = opts.role;
      // Checked here as the operation checks it, so both modes refuse it with the same code.
      if (!isRole(role)) throw invalid('invalid_role', `role must be one of ${ROLES.join(', ')}, got "${role}"`, { field: 'role' });
      await runActions(cmd, async (actions, out) => {
        const created = await actions.createApiKey({ name: opts.name, role, ...(opts.expires === undefined ? {} : { expires: opts.expires }) });
        out.result({ ...created.key, secret: created.secret }, () => {
          out.line(created.secret);
          out.note(`created ${created.key.role} key "${created.key.name}" (id ${created.key.id}); it is shown only now. Send it as "Authorization: Bearer <key>".`);
        });
      });
    });
  apikey
    .command('list')
    .description('list keys (never their secrets), revoked and expired ones included')
    .action(async (_opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const keys = await actions.listApiKeys();
        out.result(keys, () => out.table(keys.map(keyRow), COLUMNS));
      });
    });
  apikey
    .command('revoke')
    .description('revoke a key at once; requests with it are refused from now on')
    .argument('<id>', 'key id, as "apikey list" shows it (the part of the key before the dot, after bsk_)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await runActions(cmd, async (actions, out) => {
        const key = await actions.revokeApiKey(id.replace(/^bsk_/, '').split('.')[0] ?? id);
        out.result(key, () => out.line(`revoked key ${key.id} ("${key.name}")`));
      });
    });
}
