import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Engine tests are CPU-heavy; two cores → at most two files at once.
    maxWorkers: 2,
    pool: 'forks',
  },
});
