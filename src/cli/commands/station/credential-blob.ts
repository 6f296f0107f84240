import type { BlobStore } from '../../../blobs/types.js';
import { credentialCrc } from '../../../protocol/index.js';
import type { CredentialRef } from '../../../registry/types.js';

export type CredentialCategory = 'cups' | 'tc';

/** Every credential blob of a station starts with this, so removal finds them all. */
export function credentialBlobPrefix(eui: string): string {
  return `${eui}-`;
}

/** Stores a normalised credential blob under a name unique to station, category and content. */
export async function storeCredential(blobs: BlobStore, eui: string, category: CredentialCategory, blob: Buffer): Promise<CredentialRef> {
  const crc = credentialCrc(blob);
  const name = `${credentialBlobPrefix(eui)}${category}-${crc.toString(16).padStart(8, '0')}`;
  const put = await blobs.put('stationcredentials', name, blob, { size: blob.length });
  return { blob: name, crc, size: put.size };
}
