import { isIP } from 'node:net';
import { invalid, type CupsError } from '../core/errors.js';

/** Where and how to reach the CUPS server named in cups.uri. */
export interface CupsTarget {
  /** True for https: the station then sets up TLS from its cups.* credential files. */
  readonly tls: boolean;
  /** Host to connect to, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
  /** The `host:port` text exactly as written in the URI, which the station copies into the Host header. */
  readonly hostPort: string;
  /** The SNI name, or undefined for an IP literal (TLS forbids IP addresses in SNI). */
  readonly servername: string | undefined;
}

/**
 * Parses a CUPS URI the way the station's uri_checkHostPortUri does: scheme http or
 * https (any case), a host (IPv6 in brackets), a mandatory port, and no path at all,
 * not even a trailing slash.
 */
export function parseCupsUri(uri: string): CupsTarget {
  const m = /^(https?):\/\/(\[[^\]]*\]|[^:/[\]]*)(?::([^/]*))?(\/.*)?$/i.exec(uri);
  if (!m) {
    throw badUri(uri, 'expecting http://.. or https://..');
  }
  const [, scheme = '', hostText = '', portText, path] = m;
  if (path !== undefined) throw badUri(uri, 'expecting http(s)://host:port (no path, port mandatory)');
  const host = hostText.startsWith('[') ? hostText.slice(1, -1) : hostText;
  if (host === '') throw badUri(uri, 'the host is empty');
  if (portText === undefined || portText === '') throw badUri(uri, 'expecting http(s)://host:port (no path, port mandatory)');
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw badUri(uri, `port ${JSON.stringify(portText)} is not a number 1..65535`);
  return {
    tls: scheme.toLowerCase() === 'https',
    host,
    port,
    hostPort: `${hostText}:${portText}`,
    servername: isIP(host) === 0 ? host : undefined,
  };
}

function badUri(uri: string, why: string): CupsError {
  return invalid('simulator_bad_cups_uri', `Malformed URI in cups.uri (${why}) but found: ${JSON.stringify(uri)}; write a URI like https://cups.example.com:443`, {
    field: 'cups.uri',
  });
}
