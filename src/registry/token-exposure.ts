import type { Kysely } from 'kysely';
import type { RegistryDatabase } from './db-schema.js';
import { eventColumns, millis } from './row-mapping.js';
import { queueWebhookEvent } from './webhooks/outbox.js';

/**
 * Marks a token as seen in clear and tells the station's history, once. The token
 * stays valid: retiring it here would lock the station out, since the station
 * keeps sending it until it holds a new one, which only CUPS can deliver, and CUPS
 * needs the station to authenticate. The operator replaces it instead.
 */
export async function markTokenCompromisedRow(trx: Kysely<RegistryDatabase>, id: string, reason: string, at: Date): Promise<boolean> {
  const row = await trx
    .updateTable('station_tokens')
    .set({ compromised_at: millis(at), compromised_reason: reason })
    .where('id', '=', id)
    .where('compromised_at', 'is', null)
    .returning(['eui', 'category'])
    .executeTakeFirst();
  if (row === undefined) return false;
  const message =
    `token ${id} is compromised: ${reason}. It stays valid, because retiring it now would lock the station out ` +
    `(it can only receive a new credential by authenticating with this one); replace it with ` +
    `"bscups station rotate ${row.eui}${row.category === 'tc' ? ' --for tc' : ''}" (or issue a new token), and serve stations over https only`;
  await trx
    .insertInto('station_events')
    .values(eventColumns(row.eui, { type: 'auth', message, detail: { code: 'token_compromised', tokenId: id, reason } }, at))
    .execute();
  await queueWebhookEvent(trx, { type: 'token.compromised', at, data: { station: { eui: row.eui }, token: { id, category: row.category }, reason } });
  return true;
}
