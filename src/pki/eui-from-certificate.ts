import { X509Certificate } from 'node:crypto';
import { CupsError, isCupsError } from '../core/errors.js';
import { parseEui } from '../protocol/index.js';
import type { PeerCertificateLike } from './types.js';

/**
 * Prefixes stations and provisioning tools put before an EUI, matched without
 * regard to case. Longest first so `eui-` is not mistaken for part of a value.
 */
const PREFIXES = [
  'urn:lora:eui:',
  'urn:dev:mac:',
  'gateway-',
  'station-',
  'router-',
  'router:',
  'eui-',
  'eui:',
  'eui_',
  'gw-',
] as const;

const HEX16 = /^[0-9a-f]{16}$/i;
const BYTE_GROUPS = /^[0-9a-f]{2}([-:])[0-9a-f]{2}(?:\1[0-9a-f]{2}){6}$/i;
/** Only a shape gate: the ID6 grammar itself is enforced by `parseEui`. */
const ID6_SHAPE = /^[0-9a-f:]{2,39}$/i;

/**
 * All station EUIs a certificate names, canonical (16 uppercase hex), in order
 * of appearance and without duplicates. Reads the subject CN and the DNS and
 * URI SANs of a DER certificate or of Node's `getPeerCertificate()` result.
 */
export function euiFromCertificate(cert: PeerCertificateLike | Uint8Array): string[] {
  const view = cert instanceof Uint8Array ? peerViewOfDer(cert) : cert;
  const found = new Set<string>();
  const add = (eui: string | null): void => {
    if (eui !== null) found.add(eui);
  };
  for (const cn of commonNames(view.subject)) add(euiFromHostLike(cn));
  for (const { type, value } of parseSubjectAltName(view.subjectaltname ?? '')) {
    if (type === 'DNS') add(euiFromHostLike(value));
    else if (type === 'URI') add(euiFromValue(value));
  }
  return [...found];
}

/** A CN or DNS name: the whole value, else its first label (`<eui>.station`, `eui-<eui>.gw.example`). */
function euiFromHostLike(value: string): string | null {
  const whole = euiFromValue(value);
  if (whole !== null) return whole;
  const dot = value.indexOf('.');
  return dot > 0 ? euiFromValue(value.slice(0, dot)) : null;
}

/** One complete value, with at most one known prefix, in one of the accepted EUI spellings. */
export function euiFromValue(raw: string): string | null {
  const lower = raw.trim().toLowerCase();
  const prefix = PREFIXES.find((p) => lower.startsWith(p) && lower.length > p.length);
  const body = prefix === undefined ? raw.trim() : raw.trim().slice(prefix.length);
  const isId6 = body.includes(':') && ID6_SHAPE.test(body) && !BYTE_GROUPS.test(body);
  if (!HEX16.test(body) && !BYTE_GROUPS.test(body) && !isId6) return null;
  try {
    return parseEui(body, 'certificate');
  } catch (e) {
    if (isCupsError(e)) return null;
    throw e;
  }
}

function peerViewOfDer(der: Uint8Array): PeerCertificateLike {
  try {
    const x = new X509Certificate(der);
    return { subject: x.subject, subjectaltname: x.subjectAltName };
  } catch (e) {
    throw new CupsError('invalid_certificate', 'invalid_argument', 'the certificate is not readable DER X.509', {
      field: 'certificate',
    }, { cause: e });
  }
}

/** CN values from the object form (`{ CN }`) or from DN text (`CN=x` lines of Node, or `CN=x, O=y`). */
function commonNames(subject: PeerCertificateLike['subject']): string[] {
  if (subject === undefined || subject === null) return [];
  if (typeof subject !== 'string') {
    const cn = subject.CN;
    if (cn === undefined) return [];
    return typeof cn === 'string' ? [cn] : [...cn];
  }
  const out: string[] = [];
  const re = /(?:^|[\n,/+])\s*CN=("(?:[^"\\]|\\.)*"|[^\n,/+]*)/gi;
  for (const match of subject.matchAll(re)) {
    const value = match[1] ?? '';
    out.push(value.startsWith('"') ? unquote(value) : value.trim());
  }
  return out;
}

/**
 * Splits Node's SAN text (`DNS:a, URI:b, IP Address:1.2.3.4`) into entries.
 * Node writes a value that contains a separator as a JSON string, so quoted
 * values are read as JSON.
 */
export function parseSubjectAltName(text: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim().toUpperCase();
    let start = colon + 1;
    let value: string;
    if (text[start] === '"') {
      let end = start + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      value = unquote(text.slice(start, end + 1));
      start = end + 1;
      const sep = text.indexOf(', ', start);
      i = sep < 0 ? text.length : sep + 2;
    } else {
      const sep = text.indexOf(', ', start);
      value = text.slice(start, sep < 0 ? text.length : sep);
      i = sep < 0 ? text.length : sep + 2;
    }
    out.push({ type, value });
  }
  return out;
}

function unquote(quoted: string): string {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : quoted;
  } catch {
    // A malformed quote is kept literally; it will simply not match an EUI.
    return quoted;
  }
}
