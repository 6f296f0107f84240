import { CupsError } from '../core/errors.js';

/** Longest URI the station accepts when it reads `cups.uri` / `tc.uri` back (PROTOCOL.md 2.4). */
export const MAX_STATION_URI_LENGTH = 127;

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

interface UriKind {
  readonly schemes: readonly string[];
  readonly example: string;
  readonly defaultField: string;
}

const CUPS: UriKind = { schemes: ['http', 'https'], example: 'https://cups.example.com:443', defaultField: 'cupsUri' };
const TC: UriKind = { schemes: ['ws', 'wss'], example: 'wss://lns.example.com:8887', defaultField: 'tcUri' };

function fail(kind: UriKind, field: string, uri: string, problem: string): CupsError {
  const shown = uri.length > 60 ? `${uri.slice(0, 60)}…` : uri;
  return new CupsError(
    'invalid_uri',
    'invalid_argument',
    `field "${field}" (${JSON.stringify(shown)}) ${problem}; the station needs ${kind.schemes.join('://host:port or ')}://host:port ` +
      `with nothing after the port, e.g. ${kind.example}`,
    { field },
  );
}

function checkHost(kind: UriKind, field: string, uri: string, host: string): void {
  if (host.startsWith('[')) {
    // The station's parser takes everything up to `]` as the host; check it looks like an IPv6 address.
    if (!host.endsWith(']') || host.length < 4 || !IPV6.test(host.slice(1, -1)) || !host.includes(':')) {
      throw fail(kind, field, uri, 'has a malformed bracketed IPv6 host');
    }
    return;
  }
  if (host === '') throw fail(kind, field, uri, 'has no host');
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  if (!labels.every((l) => HOST_LABEL.test(l))) {
    throw fail(kind, field, uri, `has an invalid host "${host}" (letters, digits, '-' and '.' only)`);
  }
}

function validate(kind: UriKind, uri: unknown, field: string): string {
  if (typeof uri !== 'string') throw fail(kind, field, String(uri), 'is not a string');
  if (uri.length > MAX_STATION_URI_LENGTH) {
    throw fail(kind, field, uri, `is ${uri.length} characters long; the station rejects URIs over ${MAX_STATION_URI_LENGTH}`);
  }
  // Control characters, spaces and non-ASCII would be written to the station's file verbatim and break its parser.
  if (!/^[\x21-\x7e]*$/.test(uri)) throw fail(kind, field, uri, 'contains spaces, control or non-ASCII characters');
  const sep = uri.indexOf('://');
  const scheme = sep < 0 ? '' : uri.slice(0, sep).toLowerCase();
  if (!kind.schemes.includes(scheme)) throw fail(kind, field, uri, `does not start with ${kind.schemes.join(':// or ')}://`);
  const rest = uri.slice(sep + 3);
  if (/[?#]/.test(rest)) throw fail(kind, field, uri, 'has a query or fragment');
  if (rest.includes('@')) throw fail(kind, field, uri, 'has user information (user@host)');
  if (rest.includes('/')) {
    throw fail(kind, field, uri, rest.endsWith('/') && rest.indexOf('/') === rest.length - 1 ? 'ends with a slash' : 'has a path');
  }
  const colon = rest.startsWith('[') ? rest.indexOf(':', rest.indexOf(']')) : rest.lastIndexOf(':');
  if (colon < 0) throw fail(kind, field, uri, 'has no port (the port is mandatory)');
  const host = rest.slice(0, colon);
  const port = rest.slice(colon + 1);
  if (!rest.startsWith('[') && host.includes(':')) throw fail(kind, field, uri, 'has more than one ":" (IPv6 hosts go in [brackets])');
  checkHost(kind, field, uri, host);
  if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) {
    throw fail(kind, field, uri, `has an invalid port "${port}" (1..65535, no leading zeros)`);
  }
  return uri;
}

/** Validate a CUPS URI for provisioning: http(s)://host:port, nothing else (PROTOCOL.md 5.1). Returns it unchanged. */
export function validateCupsUri(uri: string, field: string = CUPS.defaultField): string {
  return validate(CUPS, uri, field);
}

/** Validate a TC (LNS) URI for provisioning: ws(s)://host:port, nothing else (PROTOCOL.md 5.1). Returns it unchanged. */
export function validateTcUri(uri: string, field: string = TC.defaultField): string {
  return validate(TC, uri, field);
}
