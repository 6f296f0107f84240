import { invalid, notFound } from '../core/errors.js';
import type { SigningKey } from '../registry/index.js';
import { keyCrc, sigKeyFromPublicKey } from '../signing/index.js';
import { audited, authorize, type OperationContext } from './context.js';

// A registered signing key decides which firmware every station runs as root, so
// adding or removing one is an admin's act, like managing the PKI.

/**
 * Registers a public signing key: `publicKey` is the station form (sig-N.key as
 * 128 hex digits) or a PEM public key.
 */
export async function addSigningKey(ctx: OperationContext, input: { readonly publicKey: string; readonly name?: string | null }): Promise<SigningKey> {
  authorize(ctx, 'admin', 'registering a signing key');
  const sigKey = sigKeyOf(input.publicKey);
  const crc = keyCrc(sigKey);
  const name = input.name ?? null;
  return ctx.registry.addSigningKey({ crc, publicKey: sigKey.toString('hex'), name }, audited(ctx, 'signing_key.add', String(crc), { name }));
}

/** Unregisters a key; refused (signing_key_in_use) while a firmware target not yet upgraded is signed by it. */
export async function removeSigningKey(ctx: OperationContext, crc: number): Promise<{ readonly crc: number; readonly removed: true }> {
  authorize(ctx, 'admin', 'removing a signing key');
  if (!Number.isSafeInteger(crc) || crc < 0 || crc > 0xffffffff) {
    throw invalid('invalid_key_crc', `CRC must be an unsigned 32-bit decimal number as "bscups keys list" shows it, got "${crc}"`, { field: 'crc' });
  }
  const removed = await ctx.registry.removeSigningKey(crc, (gone) => (gone ? audited(ctx, 'signing_key.remove', String(crc)) : null));
  if (!removed) throw notFound('signing_key_not_found', `no signing key with CRC ${crc} is registered; see "bscups keys list"`);
  return { crc, removed: true };
}

function sigKeyOf(value: string): Buffer {
  if (/^[0-9a-fA-F]{128}$/.test(value.trim())) return sigKeyFromPublicKey(Buffer.from(value.trim(), 'hex'));
  if (value.includes('-----BEGIN')) return sigKeyFromPublicKey(value);
  throw invalid('invalid_public_key', 'publicKey must be a sig-N.key as 128 hex digits, or a PEM public key', { field: 'publicKey' });
}
