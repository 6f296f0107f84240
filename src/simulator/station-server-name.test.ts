import { describe, expect, it } from 'vitest';
import { stationAcceptsServerName, type AltName, type ServerCertificateNames } from './station-server-name.js';

const dns = (value: string): AltName => ({ type: 'dns', value });
const ip = (value: string): AltName => ({ type: 'ip', value });
const uri = (value: string): AltName => ({ type: 'other', value });
const withSan = (altNames: AltName[], ...commonNames: string[]): ServerCertificateNames => ({ altNames, commonNames });
const withoutSan = (...commonNames: string[]): ServerCertificateNames => ({ altNames: null, commonNames });

// [fact of PROTOCOL.md section 7, what the case shows, host, certificate names, accepted]
const CASES: Array<[string, string, string, ServerCertificateNames, boolean]> = [
  ['7.1', 'an IP host against an iPAddress entry only: refused', '127.0.0.1', withSan([ip('127.0.0.1')]), false],
  ['7.1', 'an IP host against an iPAddress entry, even with the IP as CN: refused', '127.0.0.1', withSan([ip('127.0.0.1')], '127.0.0.1'), false],
  ['7.1', 'an IP host against a dNSName with the same text: accepted', '127.0.0.1', withSan([dns('127.0.0.1'), ip('127.0.0.1')]), true],
  ['7.1', 'an IPv6 host (URI brackets removed) against its dNSName text', '::1', withSan([dns('::1'), ip('::1')]), true],
  ['7.1', 'a DNS host against its dNSName', 'cups.example.com', withSan([dns('localhost'), dns('cups.example.com')]), true],
  ['7.1', 'dNSName compared without regard to case', 'CUPS.example.com', withSan([dns('cups.EXAMPLE.com')]), true],
  ['7.1', 'dNSName compared byte for byte otherwise (trailing dot)', 'cups.example.com', withSan([dns('cups.example.com.')]), false],
  ['7.1', 'dNSName that only shares a prefix', 'cups.example.com', withSan([dns('cups.example.co')]), false],
  ['7.1', 'a wildcard stands for one label', 'gw-1.example.com', withSan([dns('*.example.com')]), true],
  ['7.1', 'a wildcard does not stand for two labels', 'a.gw-1.example.com', withSan([dns('*.example.com')]), false],
  ['7.1', 'a wildcard does not stand for no label', 'example.com', withSan([dns('*.example.com')]), false],
  ['7.1', 'a wildcard does not match a host starting with a dot', '.example.com', withSan([dns('*.example.com')]), false],
  ['7.1', 'a wildcard with its host label in another case', 'GW.Example.Com', withSan([dns('*.example.com')]), true],
  ['7.1', 'only a leading "*." is a wildcard', 'gw.example.com', withSan([dns('g*.example.com')]), false],
  ['7.1', 'the CN is not looked at when a SAN exists', 'gw.example.com', withSan([dns('cups.example.com')], 'gw.example.com'), false],
  ['7.1', 'entries of other types are skipped, a later dNSName still counts', 'cups.example.com', withSan([uri('https://cups.example.com'), dns('cups.example.com')]), true],
  ['7.1', 'an empty SAN extension leaves nothing to match, CN unused', 'cups.example.com', withSan([], 'cups.example.com'), false],
  ['7.2', 'without SAN the CN is compared', 'cups.example.com', withoutSan('cups.example.com'), true],
  ['7.2', 'without SAN an IP host is compared with the CN too', '192.0.2.10', withoutSan('192.0.2.10'), true],
  ['7.2', 'without SAN the CN is compared without regard to case', 'cups.example.com', withoutSan('Cups.Example.Com'), true],
  ['7.2', 'without SAN a CN wildcard stands for one label', 'gw.example.com', withoutSan('*.example.com'), true],
  ['7.2', 'without SAN a CN wildcard does not stand for two labels', 'a.gw.example.com', withoutSan('*.example.com'), false],
  ['7.2', 'without SAN any of several CNs may match', 'cups.example.com', withoutSan('station CA', 'cups.example.com'), true],
  ['7.2', 'without SAN a different CN is refused', 'cups.example.com', withoutSan('other.example.com'), false],
  ['7.2', 'without SAN and without CN nothing matches', 'cups.example.com', withoutSan(), false],
];

describe('the server name check of station 2.0.6 (mbedTLS 2.28)', () => {
  for (const [fact, what, host, names, accepted] of CASES) {
    it(`PROTOCOL 7 fact ${fact}: ${what} (${host})`, () => {
      expect(stationAcceptsServerName(host, names)).toBe(accepted);
    });
  }
});
