import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['app/**/*.test.ts', 'src/**/*.test.ts', 'receivers/**/*.test.ts', 'processors/**/*.test.ts', 'exporters/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // two test files at a time even on a 2-core machine (vitest's default there is one: cores - 1). Most of
    // the suite's time is waiting on real clocks (Alertmanager's group_wait, daemons starting, retries), not
    // CPU: 448 s instead of 551 s for the whole suite on the 2-core VM
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
