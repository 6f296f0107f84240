import { CupsError } from '../core/errors.js';

const SEQUENCE = 0x30;

/**
 * Total length (header + content) of the DER element at `offset`, exactly as the
 * station's parser sees it: only `30 LL` (LL < 128) and `30 82 HH LL`. Any other
 * tag or length form, or a header cut short, gives undefined.
 */
export function stationDerLength(buf: Uint8Array, offset: number): number | undefined {
  if (!Number.isInteger(offset) || offset < 0 || offset + 2 > buf.length || buf[offset] !== SEQUENCE) return undefined;
  const first = buf[offset + 1] as number;
  if (first < 0x80) return 2 + first;
  if (first !== 0x82 || offset + 4 > buf.length) return undefined;
  return 4 + (((buf[offset + 2] as number) << 8) | (buf[offset + 3] as number));
}

/** Total length of a DER element at `offset` by the full DER rules (any length form), or undefined. */
export function derElementLength(buf: Uint8Array, offset = 0): number | undefined {
  if (offset + 2 > buf.length) return undefined;
  const first = buf[offset + 1] as number;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 4 || offset + 2 + count > buf.length) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] as number);
  return 2 + count + length;
}

export type CredentialElement = 'certificate' | 'private key';

function unparseable(field: string, message: string): CupsError {
  return new CupsError('unparseable_credential', 'invalid_argument', message, { field });
}

interface PemBlock {
  readonly label: string;
  readonly headers: boolean;
  readonly body: string;
}

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const inner = m[2] ?? '';
    blocks.push({ label: m[1] ?? '', headers: inner.includes(':'), body: inner.replace(/\s+/g, '') });
  }
  return blocks;
}

function pickBlock(blocks: PemBlock[], what: CredentialElement, field: string): PemBlock {
  if (blocks.length === 1) return blocks[0] as PemBlock;
  // e.g. `openssl ecparam -genkey` writes an EC PARAMETERS block before the key.
  const wanted = blocks.filter((b) => (what === 'certificate' ? b.label === 'CERTIFICATE' : b.label.endsWith('PRIVATE KEY')));
  if (wanted.length !== 1) {
    throw unparseable(
      field,
      `the PEM ${field} holds ${wanted.length === 0 ? 'no' : wanted.length} ${what} blocks; the station takes exactly one ${what} per element, ` +
        `so pass a file with a single ${what === 'certificate' ? 'CERTIFICATE' : 'PRIVATE KEY'} block`,
    );
  }
  return wanted[0] as PemBlock;
}

/**
 * Accept PEM (a lone `-----BEGIN ...-----` block, or the one block matching `what`) or DER; return the DER bytes.
 * `field` names the element in errors (e.g. "trust"); it defaults to `what`.
 */
export function toDer(input: Uint8Array, what: CredentialElement, field: string = what): Buffer {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  // DER always starts with 30; anything else may be PEM, possibly after text such as `openssl x509 -text` output.
  const text = bytes[0] === SEQUENCE ? '' : bytes.toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const block = pickBlock(pemBlocks(text), what, field);
    if (block.label.includes('ENCRYPTED') || block.headers) {
      throw unparseable(field, `the ${field} is encrypted; decrypt it first, e.g. openssl pkey -in key.pem -out key-plain.pem`);
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(block.body)) throw unparseable(field, `the PEM ${field} has invalid base64 content`);
    return checkDer(Buffer.from(block.body, 'base64'), what, field);
  }
  return checkDer(Buffer.from(bytes), what, field);
}

function checkDer(der: Buffer, what: CredentialElement, field: string): Buffer {
  const length = der[0] === SEQUENCE ? derElementLength(der) : undefined;
  if (length !== der.length) {
    throw unparseable(field, `the ${field === what ? what : `${field} ${what}`} is neither PEM nor a single DER SEQUENCE; give a PEM file or a DER file (openssl ... -outform DER)`);
  }
  return der;
}
