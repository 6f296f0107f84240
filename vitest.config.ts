import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start real servers and child processes; two cores, so keep the pool small.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
    // Transpiles src/ once per run for the CLI and serve child processes (test/support/cli-entry.ts).
    globalSetup: ['test/support/cli-build-setup.ts'],
    // Every test server (and every serve child, which inherits the environment) binds its admin
    // API to a free port, so parallel suites never fight over the default 6091.
    env: { BSCUPS_ADMIN_PORT: '0' },
  },
});
