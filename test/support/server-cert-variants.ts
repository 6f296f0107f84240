import { randomBytes, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { caSigner, toIssuedCert } from '../../src/pki/issued-cert.js';
import { ECDSA_SHA256, generateP256Key } from '../../src/pki/keys.js';
import type { IssuedCert } from '../../src/pki/index.js';
import { NOTHING_TO_CHANGE } from '../../src/protocol/index.js';
import { SubjectAlternativeNameExtension, X509CertificateGenerator, type JsonGeneralName } from '../../src/pki/x509.js';

/**
 * A server certificate signed by `ca` with exactly the names given: `san: null`
 * leaves the subjectAltName extension out. issueServerCert never makes these
 * shapes (IP entry only, no SAN); other tools and older releases did.
 */
export async function serverCertVariant(ca: IssuedCert, names: { cn: string; san: JsonGeneralName[] | null }): Promise<IssuedCert> {
  const signer = await caSigner(ca);
  const key = await generateP256Key();
  const now = Date.now();
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: `4${randomBytes(15).toString('hex')}`,
      subject: [{ CN: [names.cn] }],
      issuer: signer.cert.subjectName,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      publicKey: key.publicKey,
      signingKey: signer.signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: names.san === null ? [] : [new SubjectAlternativeNameExtension(names.san, false)],
    },
    webcrypto,
  );
  return toIssuedCert(cert, key);
}

/** A TLS server that answers every request with CUPS "nothing to change" and records each handshake. */
export interface NothingToChangeServer {
  readonly port: number;
  /** One entry per completed handshake: whether the client resumed a session. */
  readonly handshakes: Array<{ resumed: boolean }>;
  close(): Promise<void>;
}

export async function startNothingToChangeServer(cert: IssuedCert): Promise<NothingToChangeServer> {
  const handshakes: Array<{ resumed: boolean }> = [];
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem });
  server.on('secureConnection', (socket) => {
    handshakes.push({ resumed: socket.isSessionReused() });
    socket.once('data', () => {
      const head = `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${NOTHING_TO_CHANGE.length}\r\n\r\n`;
      socket.end(Buffer.concat([Buffer.from(head, 'latin1'), NOTHING_TO_CHANGE]));
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    handshakes,
    close: async () => {
      server.close();
      await once(server, 'close');
    },
  };
}
