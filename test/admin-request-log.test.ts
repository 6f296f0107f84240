import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogLines } from './support/log-lines.js';
import { startTestServer, type TestServer } from './support/server.js';

// The dashboard polls the admin API every 2 s and loads its files: a log line per
// read at info would bury what changed. One line per request: reads at debug,
// changes at info; never Fastify's two lines ("incoming request", "request completed").
describe('admin listener request log', () => {
  const lines = new LogLines();
  let srv: TestServer;
  let base: string;
  let key: string;

  beforeAll(async () => {
    srv = await startTestServer({ config: { adminPort: 0 }, logger: pino({ level: 'info' }, lines) });
    base = srv.server.admin.url;
    key = srv.server.admin.firstAdminKey as string;
  });
  afterAll(() => srv?.stop());

  it('logs reads at debug (nothing at info) and a change once at info', async () => {
    const before = lines.lines.length;
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${base}/stations`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
    }
    const created = lines.next((l) => l.msg === 'admin request' && l.method === 'POST');
    const r = await fetch(`${base}/stations`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ eui: 'AA00000000000042' }) });
    expect(r.status).toBe(201);
    // The line is written once the answer is sent; a bound so that its absence fails at once, not at the test timeout.
    const line = await Promise.race([created, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no "admin request" line was logged')), 5000))]);
    expect(line).toMatchObject({ level: 30, method: 'POST', url: '/api/v1/stations', statusCode: 201 });
    const logged = lines.lines.slice(before);
    expect(logged.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);
    expect(logged.filter((l) => l.msg === 'admin request')).toHaveLength(1); // the POST; the three reads are debug
  });
});
