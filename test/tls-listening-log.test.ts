import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa, issueServerCert } from '../src/pki/index.js';
import { LogLines } from './support/log-lines.js';
import { startTestServer, type TestServer } from './support/server.js';

// Issue 17.15: the TLS listener logged "Server listening at http://…" (fastify's guess reads only its
// own https option).
let dir = '';
let srv: TestServer | undefined;
afterAll(async () => {
  await srv?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('a TLS server at start', () => {
  it('logs its TLS listener as https:// (the plain admin listener as http://), and no none-mode warning with no such station (the warning: test/readme.test.ts)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bscups-tls-log-'));
    const ca = await createCa({ commonName: 'log test CA' });
    const cert = await issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
    await writeFile(join(dir, 'server.pem'), cert.certPem);
    await writeFile(join(dir, 'server.key'), cert.keyPem);
    const log = new LogLines();
    srv = await startTestServer({ allowUnauthenticated: false, tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key') }, logger: pino({ level: 'info' }, log) });
    const listening = log.lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('Server listening at'));
    expect(listening.map((l) => l['msg'])).toEqual([expect.stringMatching(/^Server listening at https:\/\//), expect.stringMatching(/^Server listening at http:\/\//)]);
    // No station yet: no warning.
    expect(log.lines.some((l) => String(l['msg']).includes('auth mode none'))).toBe(false);
  });
});
