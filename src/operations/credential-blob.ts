import type { BlobStore } from '../blobs/types.js';
import { credentialCrc, parseCredentialBlob } from '../protocol/index.js';
import type { CredentialCategory } from '../registry/auth-types.js';
import type { CredentialRef, Station } from '../registry/types.js';

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

export function desiredField(category: CredentialCategory): 'cupsCred' | 'tcCred' {
  return category === 'cups' ? 'cupsCred' : 'tcCred';
}

/** The trust of the station's current desired credential of a category, so a rotation keeps it; undefined when there is none. */
export async function currentTrust(blobs: BlobStore, station: Station, category: CredentialCategory): Promise<Buffer | undefined> {
  const ref = station.desired[desiredField(category)];
  if (ref === null) return undefined;
  const read = await blobs.get('stationcredentials', ref.blob);
  if (read === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of read.stream) chunks.push(chunk as Buffer);
  return parseCredentialBlob(Buffer.concat(chunks)).trust;
}
