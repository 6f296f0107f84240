import { afterEach, describe, expect, it, vi } from 'vitest';
import { postgresAvailable, shouldRunPostgresSuite, TEST_POSTGRES_URL } from './support/postgres.js';

const UNREACHABLE = 'postgres://postgres:pw@127.0.0.1:1/test';

describe('PostgreSQL suite policy', () => {
  afterEach(() => vi.restoreAllMocks());

  it('skips loudly on a laptop when PostgreSQL is unreachable', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await shouldRunPostgresSuite('demo suite', { url: UNREACHABLE, env: {} })).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/SKIPPING demo suite.*127\.0\.0\.1:1/);
    expect(String(warn.mock.calls[0]?.[0])).not.toContain(':pw@');
  });

  it('fails in CI when PostgreSQL is unreachable', async () => {
    await expect(shouldRunPostgresSuite('demo suite', { url: UNREACHABLE, env: { CI: 'true' } })).rejects.toThrow(
      /demo suite.*CI=true/,
    );
  });

  it('runs when the test server answers', async () => {
    // This machine's PostgreSQL is part of the test environment; in CI it must be up.
    const available = await postgresAvailable(TEST_POSTGRES_URL);
    if (process.env['CI'] === 'true') expect(available).toBe(true);
    expect(await shouldRunPostgresSuite('demo suite', { env: {} })).toBe(available);
  });
});
