import { CupsError } from '../core/errors.js';

const LINE = /^([A-Za-z0-9_-]+):[ \t]*([\x20-\x7e\t]*)$/;
// The station sends these itself; a token repeating them would corrupt its request.
const RESERVED = new Set(['host', 'content-type', 'content-length', 'transfer-encoding']);

function bad(message: string): CupsError {
  return new CupsError('invalid_token', 'invalid_argument', message, { field: 'token' });
}

/**
 * Validate a token (PROTOCOL.md 4.3): one or more `Name: value` header lines the
 * station inserts verbatim into its requests. Returns the text with CRLF line
 * ends, ending in CRLF.
 */
export function validateToken(text: string): string {
  if (typeof text !== 'string') throw bad('the token must be text made of "Name: value" header lines');
  // 0x30 would make the station read the token as a DER key, 0x00 as "no key".
  if (text.startsWith('0') || text.startsWith('\0')) {
    throw bad('the token must not start with "0" or a NUL byte: the station would not recognise it as a token');
  }
  const lines = text.replace(/(\r\n|\r|\n)+$/, '').split(/\r\n|\r|\n/);
  if (lines.length === 1 && lines[0] === '') {
    throw bad('the token is empty; give header lines such as "Authorization: Bearer <secret>"');
  }
  lines.forEach((line, i) => {
    const m = LINE.exec(line);
    if (!m || (m[2] ?? '').trim() === '') {
      throw bad(
        `token line ${i + 1} is not a "Name: value" header line (name characters A-Z a-z 0-9 _ -, printable ASCII value, ` +
          'no blank lines); e.g. "Authorization: Bearer s3cr3t"',
      );
    }
    if (RESERVED.has((m[1] ?? '').toLowerCase())) {
      throw bad(`token line ${i + 1} sets the "${m[1]}" header, which the station already sends; use another header name`);
    }
  });
  return lines.map((l) => `${l}\r\n`).join('');
}
