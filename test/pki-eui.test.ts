import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCa, euiFromCertificate, issueServerCert, issueStationCert, type IssuedCert } from '../src/pki/index.js';

const EUI = '0016C001FF10A235';

/** Spellings of one CN, and what must come out. */
const CN_CASES: Array<[string, string[]]> = [
  ['0016C001FF10A235', [EUI]],
  ['0016c001ff10a235', [EUI]],
  ['00-16-C0-01-FF-10-A2-35', [EUI]],
  ['00:16:c0:01:ff:10:a2:35', [EUI]],
  ['16:c001:ff10:a235', [EUI]],
  ['0016:C001:FF10:A235', [EUI]],
  ['eui-0016c001ff10a235', [EUI]],
  ['EUI-0016C001FF10A235', [EUI]],
  ['eui:16:c001:ff10:a235', [EUI]],
  ['router-16:c001:ff10:a235', [EUI]],
  ['router-00-16-c0-01-ff-10-a2-35', [EUI]],
  ['gw-0016c001ff10a235', [EUI]],
  ['urn:lora:eui:0016C001FF10A235', [EUI]],
  ['URN:LORA:EUI:16:c001:ff10:a235', [EUI]],
  ['0016c001ff10a235.station', [EUI]],
  ['eui-0016c001ff10a235.gateways.example.net', [EUI]],
  ['::1', ['0000000000000001']],
  ['1::', ['0001000000000000']],
  ['1:2::', ['0001000200000000']],
  ['1::2', ['0001000000000002']],
  ['::1:2', ['0000000000010002']],
  ['  0016C001FF10A235  ', [EUI]],
  // Near misses: wrong length, mixed separators, IPv6 shapes ID6 never uses, non-hex, unknown prefix.
  ['0016C001FF10A23', []],
  ['0016C001FF10A2355', []],
  ['00-16-C0-01:FF-10-A2-35', []],
  ['1:2::3', []],
  ['1:2:3:4:5', []],
  ['0016C001FF10A23G', []],
  ['0x0016C001FF10A235', []],
  ['mac-0016c001ff10a235', []],
  ['eui-', []],
  ['cups.example.net', []],
  ['bscups station CA', []],
  ['', []],
];

describe('euiFromCertificate: CN spellings (TLS peer shape)', () => {
  for (const [cn, expected] of CN_CASES) {
    it(`CN ${JSON.stringify(cn)} -> ${JSON.stringify(expected)}`, () => {
      expect(euiFromCertificate({ subject: { CN: cn } })).toEqual(expected);
    });
  }
});

describe('euiFromCertificate: SAN text', () => {
  const cases: Array<[string, string[]]> = [
    ['URI:urn:lora:eui:0016C001FF10A235', [EUI]],
    ['DNS:0016c001ff10a235.station', [EUI]],
    ['DNS:cups.example.net, URI:urn:lora:eui:16:c001:ff10:a235', [EUI]],
    ['DNS:eui-00-16-c0-01-ff-10-a2-35', [EUI]],
    ['URI:urn:lora:eui:0000000000000001, URI:urn:lora:eui:0000000000000002', ['0000000000000001', '0000000000000002']],
    // A URI is read whole: an EUI in a host name inside a URL does not count.
    ['URI:https://0016c001ff10a235.example.net/', []],
    // IP addresses are never EUIs, even in ID6-like shapes.
    ['IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.1', []],
    ['email:0016c001ff10a235@example.net', []],
    // Node quotes values containing separators; the quoted value is read as JSON.
    ['DNS:"a, b", URI:"urn:lora:eui:0016C001FF10A235"', [EUI]],
    ['', []],
  ];
  for (const [san, expected] of cases) {
    it(`${JSON.stringify(san)} -> ${JSON.stringify(expected)}`, () => {
      expect(euiFromCertificate({ subject: { CN: 'not an eui' }, subjectaltname: san })).toEqual(expected);
    });
  }

  it('merges CN and SAN without duplicates, CN first', () => {
    expect(
      euiFromCertificate({
        subject: { CN: '::1' },
        subjectaltname: 'URI:urn:lora:eui:0000000000000001, DNS:0000000000000002.station',
      }),
    ).toEqual(['0000000000000001', '0000000000000002']);
  });

  it('reads several CN values and DN text subjects', () => {
    expect(euiFromCertificate({ subject: { CN: ['::1', 'x', '::2'] } })).toEqual(['0000000000000001', '0000000000000002']);
    expect(euiFromCertificate({ subject: 'O=Fleet\nCN=16:c001:ff10:a235' })).toEqual([EUI]);
    expect(euiFromCertificate({ subject: 'CN=0016c001ff10a235, O=Fleet' })).toEqual([EUI]);
    expect(euiFromCertificate({ subject: 'CN="eui-0016c001ff10a235"' })).toEqual([EUI]);
    expect(euiFromCertificate({ subject: 'O=0016C001FF10A235' })).toEqual([]);
  });

  it('returns nothing for an empty peer certificate (no client certificate sent)', () => {
    expect(euiFromCertificate({})).toEqual([]);
  });
});

describe('euiFromCertificate: DER certificates', () => {
  let ca: IssuedCert;
  beforeAll(async () => {
    ca = await createCa({ commonName: 'eui test CA' });
  });

  it('reads the EUI of an issued station certificate from its DER', async () => {
    for (const spelling of ['16:c001:ff10:a235', '0016c001ff10a235', '00:16:C0:01:FF:10:A2:35']) {
      const st = await issueStationCert(ca, { eui: spelling });
      expect(euiFromCertificate(st.certDer)).toEqual([EUI]);
      // The same certificate through Node's X509Certificate shape.
      const x = new X509Certificate(st.certDer);
      expect(euiFromCertificate({ subject: x.subject, subjectaltname: x.subjectAltName })).toEqual([EUI]);
    }
  });

  it('finds none in CA and server certificates', async () => {
    // Not '::1': an IPv6 server name is also written as a DNS name, and '::1' is the ID6 of
    // 0000000000000001. Harmless, as a serverAuth-only certificate is no client certificate.
    const srv = await issueServerCert(ca, { names: ['cups.example.net', '192.0.2.10'] });
    expect(euiFromCertificate(ca.certDer)).toEqual([]);
    expect(euiFromCertificate(srv.certDer)).toEqual([]);
  });

  it('refuses bytes that are not a certificate with the project error', () => {
    expect(() => euiFromCertificate(Buffer.from('3003020101', 'hex'))).toThrow(
      expect.objectContaining({ code: 'invalid_certificate' }),
    );
  });
});
