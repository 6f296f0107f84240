import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseCupsUri } from './cups-uri.js';
import { httpExchange } from './http-client.js';

// Issue 17.9: an https:// cups.uri against a server that speaks plain HTTP printed OpenSSL's
// record-layer dump; the station's simulator says what it means.
describe('https:// against a plain-HTTP server', () => {
  it('says the server speaks plain HTTP, not an OpenSSL dump', async () => {
    const server = createServer((_req, res) => res.end('plain'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const outcome = await httpExchange({
        target: parseCupsUri(`https://127.0.0.1:${port}`),
        tls: { rejectUnauthorized: false },
        request: Buffer.from('POST /update-info HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}'),
        timeoutMs: 5000,
      });
      expect(outcome.ok).toBe(false);
      const error = (outcome as { error: string }).error;
      expect(error).toBe(`the server at 127.0.0.1:${port} speaks plain HTTP, not TLS: write http://127.0.0.1:${port} in cups.uri, or serve TLS there (bscups serve --tls-cert … --tls-key …)`);
      expect(error).not.toMatch(/SSL|routines/);
    } finally {
      server.close();
    }
  });
});
