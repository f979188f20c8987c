import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/loop-turn.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Live-capture and interop tests start real processes and bind real ports: keep files in separate
    // workers but limit parallelism to the two cores the CI machine has.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
