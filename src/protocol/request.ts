import { CupsError, isCupsError } from '../core/errors.js';
import { crc32 } from './crc32.js';
import { formatId6, parseEui } from './eui.js';
import { describeValue } from './describe-value.js';
import type { UpdateInfoRequest } from './types.js';

/** The only path a station ever requests: its CUPS URI has no path (PROTOCOL.md 1.3). */
export const UPDATE_INFO_PATH = '/update-info';
/** Bound on reported URIs: the wire allows 255 bytes (PROTOCOL.md 2.4). */
export const MAX_REPORTED_URI_LENGTH = 255;
/** Bound on the free-text `station`, `model` and `package` fields. */
export const MAX_TEXT_FIELD_LENGTH = 255;
/** Bound on the number of signing-key CRCs a request may list. */
export const MAX_KEYS = 32;

const U32_MAX = 0xffffffff;

function bad(field: string, problem: string, extra?: Record<string, unknown>): CupsError {
  return new CupsError('invalid_request', 'invalid_argument', `field "${field}" ${problem}`, { field, ...extra });
}

function has(body: object, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(body, field);
}

function u32(value: unknown, field: string, where = `field "${field}"`): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new CupsError(
      'invalid_request',
      'invalid_argument',
      `${where} must be an unsigned 32-bit integer (0..${U32_MAX}), got ${describeValue(value)}`,
      { field },
    );
  }
  return value >>> 0; // also turns -0 into 0
}

function text(value: unknown, field: string, nullable: boolean, max: number, trim: 'end' | 'both'): string | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'string') {
    throw bad(field, `must be a string${nullable ? ' or null' : ''}, got ${describeValue(value)}`);
  }
  // The station trims what it reads from its files; trimming here makes "x\n" and "x" the same value.
  const trimmed = trim === 'both' ? value.trim() : trimEnd(value);
  if (trimmed.length > max) throw bad(field, `is ${trimmed.length} characters long; at most ${max} are allowed`);
  return trimmed;
}

/** `value` without trailing spaces, tabs, CRs and LFs; the string itself (no copy, no regex) when it has none. */
function trimEnd(value: string): string {
  let end = value.length;
  for (let c = value.charCodeAt(end - 1); c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a; c = value.charCodeAt(end - 1)) end--;
  return end === value.length ? value : value.slice(0, end);
}

/** The nine fields a station always sends (PROTOCOL.md 1). */
const FIELDS = ['router', 'cupsUri', 'tcUri', 'cupsCredCrc', 'tcCredCrc', 'station', 'model', 'package', 'keys'] as const;

function toObject(body: unknown): object {
  let value = body;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const source = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
    try {
      value = JSON.parse(source) as unknown;
    } catch {
      throw bad('body', 'is not valid JSON; send the update-info request as a JSON object');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('body', `must be a JSON object, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Validate an update-info request body (parsed JSON, or the raw JSON text/bytes)
 * as described in PROTOCOL.md section 1. Unknown extra fields are ignored.
 */
export function parseUpdateInfoRequest(body: unknown): UpdateInfoRequest {
  const obj = toObject(body) as Record<string, unknown>;
  for (const field of FIELDS) {
    if (!has(obj, field)) throw bad(field, 'is missing; a station always sends all nine fields (use null where allowed)');
  }
  let router: string;
  try {
    router = parseEui(obj.router, 'router');
  } catch (e) {
    if (!isCupsError(e)) throw e;
    throw new CupsError('invalid_request', 'invalid_argument', e.message, { field: 'router' }, { cause: e });
  }
  const keysValue = obj.keys;
  if (!Array.isArray(keysValue)) throw bad('keys', `must be an array of CRC-32 numbers, got ${describeValue(keysValue)}`);
  if (keysValue.length > MAX_KEYS) throw bad('keys', `lists ${keysValue.length} keys; at most ${MAX_KEYS} are allowed`);
  const keys: number[] = [];
  for (let i = 0; i < keysValue.length; i++) keys.push(u32(keysValue[i], 'keys', `field "keys" item ${i}`));
  return {
    router,
    cupsUri: text(obj.cupsUri, 'cupsUri', true, MAX_REPORTED_URI_LENGTH, 'end'),
    tcUri: text(obj.tcUri, 'tcUri', true, MAX_REPORTED_URI_LENGTH, 'end'),
    cupsCredCrc: u32(obj.cupsCredCrc, 'cupsCredCrc'),
    tcCredCrc: u32(obj.tcCredCrc, 'tcCredCrc'),
    station: text(obj.station, 'station', false, MAX_TEXT_FIELD_LENGTH, 'end') as string,
    model: text(obj.model, 'model', false, MAX_TEXT_FIELD_LENGTH, 'end') as string,
    package: text(obj.package, 'package', true, MAX_TEXT_FIELD_LENGTH, 'both'),
    keys,
  };
}

/** The request JSON byte for byte as a station writes it: section 1 field order, router as ID6, no spaces. */
export function encodeStationRequestBody(req: UpdateInfoRequest): string {
  const j = (v: unknown): string => JSON.stringify(v);
  return (
    `{"router":${j(formatId6(req.router))},"cupsUri":${j(req.cupsUri)},"tcUri":${j(req.tcUri)},` +
    `"cupsCredCrc":${req.cupsCredCrc >>> 0},"tcCredCrc":${req.tcCredCrc >>> 0},` +
    `"station":${j(req.station)},"model":${j(req.model)},"package":${j(req.package)},` +
    `"keys":[${req.keys.map((k) => String(k >>> 0)).join(',')}]}`
  );
}

/**
 * The raw HTTP request bytes a station sends (PROTOCOL.md 1.1, 1.2): only Host,
 * Content-Type and a space-padded 5-character Content-Length, then any token
 * header lines verbatim (line ends normalised to CRLF), a blank line and the body.
 */
export function encodeStationHttpRequest(options: { host: string; body: string; headerLines?: string }): Buffer {
  const body = Buffer.from(options.body, 'utf8');
  // The station reserves exactly five digits for the length and cannot send more.
  if (body.length > 99_999) {
    throw new CupsError('invalid_request', 'invalid_argument', `field "body" is ${body.length} bytes; a station request body is at most 99999 bytes`, {
      field: 'body',
    });
  }
  let extra = (options.headerLines ?? '').replace(/\r\n|\r|\n/g, '\r\n');
  if (extra !== '' && !extra.endsWith('\r\n')) extra += '\r\n';
  const head =
    `POST ${UPDATE_INFO_PATH} HTTP/1.1\r\n` +
    `Host: ${options.host}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${String(body.length).padStart(5, ' ')}\r\n` +
    `${extra}\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

/**
 * The `keys` list a station reports for its sig-0.key, sig-1.key, ... files
 * (null = missing): it stops at the first missing file, and also at a file whose
 * CRC is 0 (an empty file), because the station loops while the CRC is non-zero.
 */
export function stationKeyCrcs(files: readonly (Uint8Array | null | undefined)[]): number[] {
  const crcs: number[] = [];
  for (const file of files) {
    if (!file) break;
    const crc = crc32(file);
    if (crc === 0) break;
    crcs.push(crc);
  }
  return crcs;
}
