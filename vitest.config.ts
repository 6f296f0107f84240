import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start real servers and child processes; two cores, so keep the pool small.
    pool: 'forks',
    poolOptions: {
      forks: { maxForks: 2, minForks: 1 },
      // The unit project's pool (below): one worker thread runs those files one after another,
      // sharing their imports instead of starting a process per file.
      threads: { isolate: false, maxThreads: 1, minThreads: 1 },
    },
    reporters: ['default'],
    // Every test server (and every serve child, which inherits the environment) binds its admin
    // API to a free port, so parallel suites never fight over the default 6091.
    env: { BSCUPS_ADMIN_PORT: '0' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          // The unit tests beside the source start no server or CLI and change no process state
          // (no mocks, env or cwd), so they share one worker instead of a process each: measured,
          // the 30 files took 33 s wall and 11 CPU-s without isolation, 88 s and 27 CPU-s with it.
          // (Isolation is a per-pool setting, hence a pool of their own.)
          pool: 'threads',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // Transpiles src/ once per run for the CLI and serve child processes (test/support/cli-entry.ts).
          globalSetup: ['test/support/cli-build-setup.ts'],
        },
      },
    ],
  },
});
